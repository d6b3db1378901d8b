/// The syntax of an AWS region name. In the kit because two modules check it: the AWS stores' `region:`
/// and the manifest's `lambda: { region: }` (core), which does not depend on the AWS module.
package enum AWSRegionName {
    package static func isValid(_ region: String) -> Bool {
        region.count <= 64 && region.first?.isLetter == true
            && region.unicodeScalars.allSatisfy { ("a"..."z").contains($0) || ("0"..."9").contains($0) || $0 == "-" }
    }
}
