import Foundation
import TestSupport
import XCTest
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A Vault-backed render stopped by SIGTERM at random moments still revokes the token its AppRole login
/// created: counted on OpenBao (its token accessors and its audit log), on the server of
/// `VaultEndToEndTests`, through the built executable.
extension VaultEndToEndTests {
    /// Live tokens: every login adds one until it is revoked.
    func liveTokens(_ bao: OpenBao) throws -> Int {
        let listed = try bao.cli(["list", "-format=json", "auth/token/accessors"])
        return (try JSONSerialization.jsonObject(with: Data(listed.stdout.utf8)) as? [Any])?.count ?? 0
    }

    func testSIGTERMDuringAVaultRenderRevokesTheTokenOfItsLogin() async throws {
        let bao = try server()
        let directory = try makeTemporaryDirectory("vault-signal")
        self.directory = directory
        try bao.writePolicy("signal-reader", #"path "secret/*" { capabilities = ["read"] }"#)
        _ = try? bao.cli(["auth", "enable", "approle"], check: false)
        try bao.cli(["write", "auth/approle/role/signal", "token_policies=signal-reader", "secret_id_num_uses=0"])
        let roleID = try bao.field(["read", "auth/approle/role/signal/role-id"], "role_id")
        let secretID = try bao.field(["write", "-f", "auth/approle/role/signal/secret-id"], "secret_id")

        let suffix = UUID().uuidString.prefix(8)
        var canaries: [String] = []
        var secrets = "", functions = ""
        for index in 0..<20 {
            let value = Canary("vault\(index)").value
            canaries.append(value)
            try await bao.put("signal-\(suffix)/s\(index)", ["password": value])
            secrets += "  s\(index): { provider: vault, id: signal-\(suffix)/s\(index) }\n"
        }
        for index in 0..<300 { functions += "  fn\(index):\n    env: { P: \"${secrets.s\(index % 20).password}\" }\n" }
        try writeFiles([
            "inject-secrets.yaml": """
                version: 1
                providers:
                  vault: { type: vault, address: '\(bao.address)', mount: secret, auth: { method: approle, role-id-env: ROLE_ID, secret-id-env: SECRET_ID } }
                secrets:
                \(secrets)defaults:
                  output-dir: out
                  outputs: [{ format: dotenv }]
                functions:
                \(functions)
                """,
        ], in: directory)

        let login = ["ROLE_ID": roleID, "SECRET_ID": secretID, "INJECT_SECRETS_NO_PROGRESS": "1"]

        let tokensBefore = try liveTokens(bao)
        let loginsBefore = bao.auditedRequests(on: "auth/approle/login"), revocationsBefore = bao.auditedRequests(on: "auth/token/revoke-self")
        let started = Date()
        let first = try runTool(["render"], in: directory, environment: login, canaries: canaries + [secretID])
        XCTAssertEqual(first.status, 0, first.stderr)
        let duration = Date().timeIntervalSince(started)

        var stopped = 0
        for _ in 0..<10 {
            try? FileManager.default.removeItem(at: directory.appendingPathComponent("out"))
            let process = toolProcess(["render"], in: directory, environment: login)
            let errors = Pipe()
            process.standardOutput = FileHandle.nullDevice
            process.standardError = errors
            try process.run()
            usleep(UInt32(Double.random(in: 0.02...max(0.05, duration)) * 1_000_000))
            kill(process.processIdentifier, SIGTERM)
            let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            process.waitUntilExit()
            XCTAssertTrue([0, 128 + SIGTERM].contains(process.terminationStatus) || process.terminationReason == .uncaughtSignal, stderr)
            if process.terminationStatus == 128 + SIGTERM { stopped += 1 }
            assertNoCanaries(canaries + [secretID], afterRunIn: directory, output: ["stderr": stderr])
        }

        let logins = bao.auditedRequests(on: "auth/approle/login") - loginsBefore
        let revocations = bao.auditedRequests(on: "auth/token/revoke-self") - revocationsBefore
        print("vault SIGTERM: \(stopped) of 10 runs stopped; \(logins) logins, \(revocations) revocations")
        XCTAssertGreaterThan(logins, 1, "the runs logged in")
        XCTAssertEqual(revocations, logins, "every login's token is revoked, stopped or not")
        XCTAssertEqual(try liveTokens(bao), tokensBefore, "no token of these runs is left alive")
    }
}
