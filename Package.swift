// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "inject-secrets",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "inject-secrets", targets: ["inject-secrets"]),
        .plugin(name: "InjectSecretsPlugin", targets: ["InjectSecretsPlugin"]),
        // The one library offered as API (README, "Runtime fetch"). The tool's own modules are this
        // package's internals, reached through `package` access, so they are no product.
        .library(name: "InjectSecretsRuntime", targets: ["InjectSecretsRuntime"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // The system libyaml: Debian `libyaml-dev`, Homebrew `libyaml`.
        .systemLibrary(
            name: "CYAML",
            pkgConfig: "yaml-0.1",
            providers: [.apt(["libyaml-dev"]), .brew(["libyaml"])]
        ),
        // The system's libcrypto (OpenSSL) for SHA-256 and HMAC-SHA256 on Linux; Apple systems use CryptoKit.
        // Debian `libssl-dev`, Homebrew `openssl@3`.
        .systemLibrary(
            name: "CLibcrypto",
            pkgConfig: "libcrypto",
            providers: [.apt(["libssl-dev"]), .brew(["openssl@3"])]
        ),
        // The system libcurl, the one HTTP path (see CurlTransport for why not URLSession): Debian
        // `libcurl4-openssl-dev`, Homebrew `curl` (macOS also ships it).
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"]), .brew(["curl"])]
        ),
        // The module graph, each arrow "depends on"; what crosses a boundary is `package`, never `public`:
        //
        //   inject-secrets -> InjectSecretsDeploy -> InjectSecretsCore -> InjectSecretsKit
        //   inject-secrets -> InjectSecretsVault, InjectSecretsAzure, InjectSecretsAWS -> InjectSecretsKit
        //   InjectSecretsDeploy -> InjectSecretsAWS
        //   InjectSecretsCore, InjectSecretsAWS, InjectSecretsRuntime -> InjectSecretsReference
        //
        // The kit every store and the engine share: the provider contract (SecretProvider, ProviderFailure,
        // ProviderDeclaration and ProviderSettings, the only reader of a provider's YAML), the one HTTP path
        // (transport, retry, status table, proxies, TLS trust, deadlines, pacing), pagination, JSON, YAML,
        // diagnostics and redaction, bounded file reads, SHA-256/HMAC. It knows no store and no engine.
        .target(
            name: "InjectSecretsKit",
            dependencies: [
                "CYAML",
                "CCurl",
                .target(name: "CLibcrypto", condition: .when(platforms: [.linux])),
            ]
        ),
        // The engine: manifest, templates, rendering, lock, drift, outputs, audit log, `policy`, and the file
        // store, its reference store. No argument parsing, no printing, and no other store: it is given the
        // registry (`InjectSecrets(registry:)`).
        .target(name: "InjectSecretsCore", dependencies: ["InjectSecretsKit", "InjectSecretsReference"]),
        // One module per store family, each on the kit alone.
        .target(name: "InjectSecretsVault", dependencies: ["InjectSecretsKit"]),
        .target(name: "InjectSecretsAzure", dependencies: ["InjectSecretsKit"]),
        // Secrets Manager and Parameter Store with the AWS core they share: SigV4, the credential chain,
        // the service description and endpoints, and the Lambda client `deploy` uses.
        .target(name: "InjectSecretsAWS", dependencies: ["InjectSecretsKit", "InjectSecretsReference"]),
        // `deploy`, `drift --deployed` and their IAM policy: the engine's outputs onto Lambda.
        .target(
            name: "InjectSecretsDeploy", dependencies: ["InjectSecretsCore", "InjectSecretsAWS", "InjectSecretsKit"]),
        // The one-line reference grammar `${ref.NAME}` renders (core writes it, the runtime reads it): one
        // home for both sides. Foundation only; `public`, because the runtime's documented API shows it.
        .target(name: "InjectSecretsReference"),
        // For Lambda functions: resolves `${ref.NAME}` references at run time through the AWS Parameters and
        // Secrets Lambda Extension. Foundation only, so a function links nothing else of this package but
        // the grammar.
        .target(name: "InjectSecretsRuntime", dependencies: ["InjectSecretsReference"]),
        // The companion executable: argument parsing and presentation, and the registry of every store
        // (StandardRegistry.swift): adding a store is one line there.
        .executableTarget(
            name: "inject-secrets",
            dependencies: [
                "InjectSecretsKit", "InjectSecretsCore", "InjectSecretsDeploy",
                "InjectSecretsVault", "InjectSecretsAzure", "InjectSecretsAWS",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // The command plugin: a thin forwarder to the executable.
        .plugin(
            name: "InjectSecretsPlugin",
            capability: .command(
                intent: .custom(
                    verb: "inject-secrets",
                    description: "Resolve secrets from their stores and render each function's environment config"
                ),
                permissions: [
                    .writeToPackageDirectory(reason: "inject-secrets writes rendered environment files and the lock file"),
                    .allowNetworkConnections(
                        scope: .all(),
                        reason: "inject-secrets reads secrets from AWS, Vault or Azure Key Vault"
                    ),
                ]
            ),
            dependencies: ["inject-secrets"]
        ),
        // The test-support layer every test target shares: processes, loopback servers (OpenBao among
        // them), `runTool` with its canary checks, provider declarations. It imports XCTest to assert.
        .target(name: "TestSupport", dependencies: ["InjectSecretsKit"], path: "Tests/TestSupport"),
        // The SecretProvider contract as checks, run by each store's test target against its server.
        .target(name: "ProviderConformance", dependencies: ["InjectSecretsKit"], path: "Tests/ProviderConformance"),
        // The engine and the kit in-process; the cross-store checks (failure kinds, policies with the
        // Lambda part, redaction) build each store's kind, so they depend on the store and deploy modules too.
        .testTarget(
            name: "InjectSecretsCoreTests",
            dependencies: [
                "InjectSecretsKit", "InjectSecretsCore", "InjectSecretsVault", "InjectSecretsAzure", "InjectSecretsAWS",
                "InjectSecretsDeploy", "TestSupport", "ProviderConformance",
            ]),
        .testTarget(
            name: "EndToEndTests", dependencies: ["inject-secrets", "InjectSecretsKit", "TestSupport"],
            exclude: ["Fixtures"]),
        .testTarget(
            name: "VaultProviderTests",
            dependencies: ["InjectSecretsVault", "InjectSecretsKit", "TestSupport", "ProviderConformance"]),
        // The Azure Key Vault provider against a loopback stand-in of Key Vault, Entra ID and the managed
        // identity endpoints (fake_key_vault.py, Python standard library only).
        .testTarget(
            name: "AzureProviderTests",
            dependencies: [
                "inject-secrets", "InjectSecretsAzure", "InjectSecretsKit", "TestSupport", "ProviderConformance",
            ],
            resources: [.copy("fake_key_vault.py")]
        ),
        // SigV4 vectors, the AWS JSON client and the Secrets Manager / SSM providers against moto_server.
        .testTarget(
            name: "AWSProviderTests",
            dependencies: [
                "inject-secrets", "InjectSecretsAWS", "InjectSecretsCore", "InjectSecretsKit", "InjectSecretsRuntime",
                "TestSupport", "ProviderConformance",
            ],
            exclude: ["Fixtures"]),
        // The reference grammar and the runtime's field and error rules, with no server.
        .testTarget(name: "InjectSecretsRuntimeTests", dependencies: ["InjectSecretsRuntime", "TestSupport"]),
        .testTarget(name: "AWSCredentialTests", dependencies: ["InjectSecretsAWS", "InjectSecretsKit", "TestSupport"]),
    ],
    // Swift 6: data-race safety is checked by the compiler; each `@unchecked Sendable` left says why it is safe.
    swiftLanguageModes: [.v6]
)
