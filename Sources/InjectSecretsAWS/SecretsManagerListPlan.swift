import InjectSecretsKit

/// How `inspect` asks ListSecrets about many secret names in few calls.
///
/// A `name` filter value matches every secret whose name starts with it, and a call carries up to 10
/// values and returns up to 100 secrets a page. So names that share a prefix are asked for by that
/// prefix: the names are grouped by their longest common prefix into groups that fill at most one
/// page, and groups are packed 10 values and one page of names to a call. 2,000 names such as
/// `app/secret-0000`...`app/secret-1999` take 20 calls instead of 200 of 10 exact names; names with
/// nothing in common stay exact, 10 to a call, as before.
///
/// A prefix can also match secrets the manifest does not name. A call whose prefixes turn out to cover
/// more than its page budget stops there, and its names not yet seen are listed again by exact name,
/// so a crowded prefix costs at most two pages more than exact names would have.
struct SecretsManagerListPlan: Equatable {
    struct Call: Equatable {
        /// The `name` filter values.
        var values: [String]
        /// The manifest names this call answers.
        var names: [String]
        /// How many pages the call may read before its unanswered names are listed by exact name.
        var pageBudget: Int
        /// Whether every value is one of the names (no prefix stands for several).
        var isExact: Bool { Set(values) == Set(names) }
    }

    var calls: [Call]

    static let valuesPerCall = 10
    static let pageSize = 100
    /// Pages an exact-name call may read: an exact name is also a prefix of longer names
    /// (`db` of `db-old`), so its call pages on until the name is seen.
    static let exactPageBudget = 100
    /// Pages a prefix call may read: its names fill at most one page; one more allows for some
    /// secrets the manifest does not name.
    static let prefixPageBudget = 2

    /// The calls for `names` (each a valid name filter value, see `isListableName`).
    init(names: [String]) {
        var groups: [(value: String, names: [String])] = []
        // Callers mostly pass sorted, distinct names already (`inspect` does): then no set and no sort.
        var unique = zip(names, names.dropFirst()).allSatisfy { $0 < $1 } ? names : Set(names).sorted()
        // The grouping needs byte order, which for ASCII names (all that `isListableName` lets through)
        // String order already is.
        if !unique.allSatisfy({ $0.utf8.allSatisfy { $0 < 0x80 } }) { unique.sort { $0.utf8.lexicographicallyPrecedes($1.utf8) } }
        let sorted = unique.map { Array($0.utf8) }
        Self.group(sorted, texts: unique, range: sorted.indices, into: &groups)

        calls = []
        var values: [String] = []
        var covered: [String] = []
        func close() {
            guard !values.isEmpty else { return }
            let call = Call(values: values, names: covered, pageBudget: 0)
            calls.append(Call(
                values: values, names: covered,
                pageBudget: call.isExact ? Self.exactPageBudget : Self.prefixPageBudget))
            values = []
            covered = []
        }
        for group in groups {
            if values.count == Self.valuesPerCall || covered.count + group.names.count > Self.pageSize { close() }
            values.append(group.value)
            covered += group.names
        }
        close()
        // Where prefixes save no call (few names, or names with little in common), exact names cannot
        // be crowded by secrets the manifest does not name.
        if (unique.count + Self.valuesPerCall - 1) / Self.valuesPerCall <= calls.count { calls = Self.exact(unique) }
    }

    /// The calls that list `names` by their exact names, 10 to a call.
    static func exact(_ names: [String]) -> [Call] {
        chunked(names, size: valuesPerCall).map { Call(values: $0, names: $0, pageBudget: exactPageBudget) }
    }

    /// Splits the sorted names in `range` into groups of at most a page, each named by the longest
    /// prefix its names share. A name that is itself that prefix of a group too large for one page
    /// goes alone, as an exact value.
    /// `texts` are the names as text, in the same order as their bytes in `names`.
    private static func group(
        _ names: [[UInt8]], texts: [String], range: Range<Int>, into groups: inout [(value: String, names: [String])]
    ) {
        guard let first = range.first, let last = range.last else { return }
        // In sorted order the first and the last name share the prefix of the whole range.
        let shared = zip(names[first], names[last]).prefix { $0 == $1 }.count
        if shared > 0, range.count <= pageSize {
            groups.append((
                String(decoding: names[first].prefix(shared), as: UTF8.self), Array(texts[range])))
            return
        }
        var start = first
        while start <= last, names[start].count == shared {
            groups.append((texts[start], [texts[start]]))
            start += 1
        }
        while start <= last {
            let byte = names[start][shared]
            var end = start + 1
            while end <= last, names[end][shared] == byte { end += 1 }
            group(names, texts: texts, range: start..<end, into: &groups)
            start = end
        }
    }
}
