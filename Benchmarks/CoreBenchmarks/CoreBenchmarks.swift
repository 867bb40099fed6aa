import Benchmark
import Core
import Foundation

/// Pure hot-path pieces: what every authenticated request pays before any I/O.
let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration.maxDuration = .seconds(3)
    Benchmark.defaultConfiguration.metrics = [.wallClock, .throughput, .mallocCountTotal]

    let now = Date()
    let tenant = TenantID.generate()
    let keyID = APIKeyID.generate()
    let token = APIKeyToken.generate(keyID: keyID)
    let stored = APIKey(
        id: keyID, tenantID: tenant, serviceIdentityID: nil, name: "bench", displayPrefix: token.displayPrefix,
        digest: token.digest, scopes: Scope.tenantDefaults, createdAt: now
    )

    Benchmark("Authenticate a bearer token (parse + SHA-256 + check)") { benchmark in
        for _ in benchmark.scaledIterations {
            let parsed = APIKeyToken(parsing: token.text)!
            blackHole(CredentialCheck.evaluate(key: stored, tenantStatus: .active, token: parsed, now: now))
        }
    }

    Benchmark("Generate an identifier") { benchmark in
        for _ in benchmark.scaledIterations {
            blackHole(TenantID.generate(at: now))
        }
    }

    Benchmark("Parse settings") { benchmark in
        let raw = ["TALLY_HTTP_ADDRESS": "0.0.0.0:8080", "TALLY_DATABASE_URL": "postgres://u:p@db/x", "TALLY_REDIS_URL": "redis://r:6379/0"]
        for _ in benchmark.scaledIterations {
            blackHole(try? Settings.parse(raw))
        }
    }
}
