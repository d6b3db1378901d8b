import Foundation
import InjectSecretsKit
#if canImport(FoundationXML)
import FoundationXML
#endif

/// The error of a non-2xx AWS answer, whichever protocol the service speaks: the code from
/// `X-Amzn-ErrorType`, else the JSON body's `__type` (or `code`, `Code`, `Type`), else a query-style XML
/// body's `<Code>`; the message from `message`/`Message`. Codes are cut after the first `:` and up to the
/// last `#`. HTML, other XML and empty bodies give neither.
struct AWSErrorAnswer: Sendable {
    var code: String?
    var message: String?

    init(_ response: HTTPResponse) {
        var code: String?
        var message: String?
        if let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any] {
            code = (object["__type"] as? String) ?? (object["code"] as? String) ?? (object["Code"] as? String)
                ?? (object["Type"] as? String)
            message = (object["message"] as? String) ?? (object["Message"] as? String)
        } else if response.body.first(where: { !" \t\r\n".utf8.contains($0) }) == UInt8(ascii: "<") {
            let fields = AWSXMLFields.parse(response.body)
            code = fields["Code"]
            message = fields["Message"]
        }
        if let header = response.header("X-Amzn-ErrorType"), !header.isEmpty {
            code = header
        }
        self.code = code.map(Self.normalizeCode).flatMap { $0.isEmpty ? nil : $0 }
        self.message = message
    }

    /// `aws.protocoltests#FooError:http://...` → `FooError`.
    static func normalizeCode(_ raw: String) -> String {
        var code = Substring(raw)
        if let colon = code.firstIndex(of: ":") { code = code[..<colon] }
        if let hash = code.lastIndex(of: "#") { code = code[code.index(after: hash)...] }
        return code.trimmingCharacters(in: .whitespaces)
    }

    /// Whether the standard retry mode retries this answer
    /// (docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html and botocore/retries/standard.py):
    /// by code first, since AWS throttles with 400.
    static let retryable = RetryPolicy.Retryable { response in
        AWSErrorCodes.isRetryable(code: AWSErrorAnswer(response).code, status: response.status)
    }
}

/// The one XML reader for AWS's query-protocol answers (STS, and the XML errors of any service): the
/// text of the first element with each name, `AccessKeyId`, `Expiration`, `Account` of a result,
/// `Code`, `Message` of an `ErrorResponse`. External entities are never resolved.
final class AWSXMLFields: NSObject, XMLParserDelegate {
    private var fields: [String: String] = [:]
    private var text = ""

    static func parse(_ data: Data) -> [String: String] {
        let collector = AWSXMLFields()
        let parser = XMLParser(data: data)
        parser.shouldResolveExternalEntities = false
        parser.delegate = collector
        _ = parser.parse()
        return collector.fields
    }

    func parser(
        _ parser: XMLParser, didStartElement elementName: String, namespaceURI: String?, qualifiedName qName: String?,
        attributes attributeDict: [String: String] = [:]
    ) {
        text = ""
    }

    func parser(_ parser: XMLParser, foundCharacters string: String) {
        text += string
    }

    func parser(_ parser: XMLParser, didEndElement elementName: String, namespaceURI: String?, qualifiedName qName: String?) {
        if fields[elementName] == nil {
            let value = text.trimmingCharacters(in: .whitespacesAndNewlines)
            if !value.isEmpty { fields[elementName] = value }
        }
        text = ""
    }
}
