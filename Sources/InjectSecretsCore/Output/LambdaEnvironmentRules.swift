import Foundation
import InjectSecretsKit

/// What AWS Lambda accepts as a function's environment (`Environment.Variables` of CreateFunction and
/// UpdateFunctionConfiguration), checkable without any value so that `validate` can run it before a
/// secret is read, and again on the rendered variables.
///
/// Sources:
/// - Key syntax: the API reference of `Environment.Variables`, key pattern `[a-zA-Z]([a-zA-Z0-9_])+`
///   (a letter, then at least one letter, digit or underscore); the console states the same rule.
/// - Reserved keys: "Defined runtime environment variables" in the Lambda developer guide
///   (configuration-envvars). The API refuses them with InvalidParameterValueException "... contains
///   reserved keys that are currently not supported for modification. Reserved keys used in this
///   request: ...". `TZ` is on older versions of that list but the API accepts it (setting `TZ` is the
///   common way to change a function's time zone), so it is not refused here.
/// - Size: "the total size of all environment variables doesn't exceed 4 KB". Lambda measures the
///   variables serialized as one compact JSON object (its error quotes the "String measured",
///   `{"KEY":"value",...}`); this counts the UTF-8 bytes of that serialization.
package enum LambdaEnvironmentRules {
    /// The key pattern of the Lambda API.
    package static let keyPattern = "[a-zA-Z]([a-zA-Z0-9_])+"

    /// Keys the Lambda runtime sets itself and the API refuses to configure.
    package static let reservedKeys: Set<String> = [
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    ]

    /// The most bytes all of a function's variables may take together.
    package static let maxTotalBytes = 4096

    /// Why Lambda would refuse `key`, or nil when it is acceptable. Needs no value.
    package static func keyProblem(_ key: String) -> String? {
        if reservedKeys.contains(key) {
            return "'\(key)' is reserved by AWS Lambda, which sets it itself; use another name"
        }
        let bytes = Array(key.utf8)
        let valid = bytes.count >= 2 && EnvironmentNames.isASCIILetter(bytes[0])
            && bytes.dropFirst().allSatisfy {
                EnvironmentNames.isASCIILetter($0) || EnvironmentNames.isASCIIDigit($0) || $0 == UInt8(ascii: "_")
            }
        if !valid {
            return "'\(key)' is not a valid Lambda environment variable name: it must start with a letter and "
                + "have at least two characters, all letters, digits or underscores (\(keyPattern))"
        }
        return nil
    }

    /// The size Lambda counts for these variables: the UTF-8 bytes of `{"KEY":"value",...}`.
    ///
    /// Before values are known (`validate`), pass the variables with only their literal text (every
    /// secret reference replaced by nothing) to get a lower bound of the rendered size.
    package static func totalSize(_ variables: [String: String]) -> Int {
        JSONEncoderText.compactObject(OutputFormat.sortedEntries(variables)).utf8.count
    }

    /// A message naming the function and its largest variables when the variables exceed the limit,
    /// else nil. It gives no byte count: a size measured on rendered values tells a secret's length.
    package static func sizeProblem(_ variables: [String: String], function: String) -> String? {
        guard totalSize(variables) > maxTotalBytes else { return nil }
        return "function '\(function)': its environment variables take more than the \(maxTotalBytes) bytes "
            + "(4 KB) AWS Lambda allows for all of a function's variables together" + largestHint(variables)
    }

    /// "; the largest are 'A', 'B' and 'C'", to tell the user where to start. Names keys, never a value
    /// or its size.
    static func largestHint(_ variables: [String: String]) -> String {
        let largest = OutputFormat.sortedEntries(variables)
            .sorted { a, b in (a.key.utf8.count + a.value.utf8.count) > (b.key.utf8.count + b.value.utf8.count) }
            .prefix(3).map { "'\($0.key)'" }
        switch largest.count {
        case 0: return ""
        case 1: return "; the largest is \(largest[0])"
        default: return "; the largest are " + largest.dropLast().joined(separator: ", ") + " and " + largest.last!
        }
    }
}

/// `{"Variables": {...}}`, the shape `aws lambda update-function-configuration --environment file://FILE`
/// takes. Refuses what Lambda would refuse: a bad or reserved key, a NUL (no process environment holds
/// one) and more than 4 KB in total.
enum LambdaEncoder {
    static func encode(_ entries: [(key: String, value: String)]) throws -> String {
        for (key, value) in entries {
            if let problem = LambdaEnvironmentRules.keyProblem(key) {
                throw OutputEncodingError(key: key, format: .lambda, reason: problem)
            }
            try EnvironmentNames.checkNoNUL(key, value, .lambda)
        }
        if JSONEncoderText.compactObject(entries).utf8.count > LambdaEnvironmentRules.maxTotalBytes {
            let largest = entries.max { a, b in
                (a.key.utf8.count + a.value.utf8.count) < (b.key.utf8.count + b.value.utf8.count)
            }!
            throw OutputEncodingError(
                key: largest.key, format: .lambda,
                reason: "the variables take more than the \(LambdaEnvironmentRules.maxTotalBytes) bytes (4 KB) "
                    + "AWS Lambda allows together; this is the largest")
        }
        return "{\n  \"Variables\": " + JSONEncoderText.object(entries, indent: 2) + "\n}\n"
    }
}
