// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "inject-secrets",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "inject-secrets", targets: ["inject-secrets"]),
        .plugin(name: "InjectSecretsPlugin", targets: ["InjectSecretsPlugin"]),
        .library(name: "InjectSecretsCore", targets: ["InjectSecretsCore"]),
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
        // Manifest, templates, providers, rendering, lock and drift. No argument parsing, no printing.
        .target(
            name: "InjectSecretsCore",
            dependencies: [
                "InjectSecretsReference",
                "CYAML",
                "CCurl",
                .target(name: "CLibcrypto", condition: .when(platforms: [.linux])),
            ]
        ),
        // The one-line reference grammar `${ref.NAME}` renders (core writes it, the runtime reads it): one
        // home for both sides. Foundation only.
        .target(name: "InjectSecretsReference"),
        // For Lambda functions: resolves `${ref.NAME}` references at run time through the AWS Parameters and
        // Secrets Lambda Extension. Foundation only, so a function links nothing else of this package but
        // the grammar.
        .target(name: "InjectSecretsRuntime", dependencies: ["InjectSecretsReference"]),
        // The companion executable: argument parsing and presentation only.
        .executableTarget(
            name: "inject-secrets",
            dependencies: [
                "InjectSecretsCore",
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
        .target(name: "TestSupport", dependencies: ["InjectSecretsCore"], path: "Tests/TestSupport"),
        // The SecretProvider contract as checks, run by each store's test target against its server.
        .target(name: "ProviderConformance", dependencies: ["InjectSecretsCore"], path: "Tests/ProviderConformance"),
        .testTarget(name: "InjectSecretsCoreTests", dependencies: ["InjectSecretsCore", "TestSupport", "ProviderConformance"]),
        .testTarget(
            name: "EndToEndTests", dependencies: ["inject-secrets", "InjectSecretsCore", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VaultProviderTests", dependencies: ["InjectSecretsCore", "TestSupport", "ProviderConformance"]),
        // The Azure Key Vault provider against a loopback stand-in of Key Vault, Entra ID and the managed
        // identity endpoints (fake_key_vault.py, Python standard library only).
        .testTarget(
            name: "AzureProviderTests",
            dependencies: ["inject-secrets", "InjectSecretsCore", "TestSupport", "ProviderConformance"],
            resources: [.copy("fake_key_vault.py")]
        ),
        // SigV4 vectors, the AWS JSON client and the Secrets Manager / SSM providers against moto_server.
        .testTarget(
            name: "AWSProviderTests",
            dependencies: ["inject-secrets", "InjectSecretsCore", "InjectSecretsRuntime", "TestSupport", "ProviderConformance"],
            exclude: ["Fixtures"]),
        // The reference grammar and the runtime's field and error rules, with no server.
        .testTarget(name: "InjectSecretsRuntimeTests", dependencies: ["InjectSecretsRuntime", "TestSupport"]),
        .testTarget(name: "AWSCredentialTests", dependencies: ["InjectSecretsCore", "TestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
