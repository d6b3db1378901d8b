import Foundation
import InjectSecretsKit

/// Turns the merged YAML tree into a `Manifest`, collecting every error with its place.
struct ManifestDecoder: Sendable {
    let url: URL
    let displayPath: String
    let registry: ProviderRegistry
    let processEnvironment: [String: String]
    var diagnostics: DiagnosticCollector
    /// Accept output paths outside the manifest's folder (absolute, or climbing out with `..`).
    var allowOutsidePaths = false
    /// The names "did you mean" picks from, sorted once (not per error: a manifest with thousands of
    /// misspelt references would sort thousands of names thousands of times).
    var providerNames: [String] = [], varNames: [String] = []
    /// The declared secrets' names, sorted on the first misspelt reference only: 20,000 names cost a
    /// sort that a manifest without such an error never needs.
    var declaredSecrets: Dictionary<String, SecretDeclaration>.Keys?
    lazy var secretNames: [String] = declaredSecrets.map { $0.sorted() } ?? []
    /// `defaults.rotation`, read before the secrets that merge it in.
    var defaultRotation: RotationFields?

    init(url: URL, displayPath: String, registry: ProviderRegistry, processEnvironment: [String: String], diagnostics: DiagnosticCollector) {
        self.url = url.standardizedFileURL
        directory = self.url.deletingLastPathComponent()
        directoryPath = directory.standardizedFileURL.path
        self.displayPath = displayPath
        self.registry = registry
        self.processEnvironment = processEnvironment
        self.diagnostics = diagnostics
    }

    let directory: URL
    /// `directory` as a path, computed once: URL operations cost more than the rest of a function's decoding.
    let directoryPath: String

    mutating func error(_ message: String, at location: SourceLocation) {
        diagnostics.error(message, at: location)
    }

    /// The pairs of a mapping, with unknown keys reported; nil (and an error) when it is not a mapping.
    mutating func mapping(_ node: YAMLNode, _ what: @autoclosure () -> String, allowed: [String]? = nil) -> [YAMLPair]? {
        if node.isNull { return [] }
        guard let pairs = node.mapping else {
            error("\(what()) must be a mapping, found \(node.kindName)", at: node.location)
            return nil
        }
        if let allowed {
            for pair in pairs {
                let key = pair.key.scalar ?? ""
                if !allowed.contains(key) {
                    error("unknown key '\(key)' in \(what())" + didYouMean(key, allowed), at: pair.key.location)
                }
            }
        }
        return pairs
    }

    mutating func text(_ node: YAMLNode, _ what: @autoclosure () -> String) -> String? {
        guard let text = node.scalar, !node.isNull || node.tag != nil else {
            error("\(what()) must be text, found \(node.kindName)", at: node.location)
            return nil
        }
        return text
    }

    mutating func decode(_ root: YAMLNode, environment: String?) -> Manifest? {
        guard let top = mapping(root, "the manifest", allowed: ManifestLoader.topLevelKeys) else { return nil }
        func value(_ key: String) -> YAMLNode? { top.first { $0.key.scalar == key }?.value }

        if let version = value("version") {
            if version.scalar != "1" {
                error("unsupported manifest version '\(version.scalar ?? version.kindName)'; this tool reads 'version: 1'", at: version.location)
            }
        } else {
            error("missing 'version: 1' at the top of the manifest", at: root.location)
        }

        var environmentNames: [String] = []
        if let environments = value("environments"), let pairs = mapping(environments, "'environments'") {
            for pair in pairs {
                let name = pair.key.scalar ?? ""
                if !Names.isIdentifier(name) {
                    error("environment name '\(name)' must start with a letter or '_' and use letters, digits, '_' or '-'", at: pair.key.location)
                }
                environmentNames.append(name)
            }
        }

        let providers = decodeProviders(value("providers"), root: root)
        providerNames = providers.keys.sorted()
        let vars = decodeVars(value("vars"))
        varNames = vars.keys.sorted()
        if let rotation = value("defaults")?["rotation"] { defaultRotation = decodeRotationFields(rotation, "'defaults.rotation'") }
        let secrets = decodeSecrets(value("secrets"), providers: providers, vars: vars, root: root)
        declaredSecrets = secrets.keys

        var outputDirectoryPath = ManifestLoader.defaultOutputDirectory
        var outputDirectoryLocation = root.location
        var defaultOutputs: [YAMLNode]? = nil
        var defaultEnv: [YAMLPair] = []
        if let defaults = value("defaults"), let pairs = mapping(defaults, "'defaults'", allowed: ["output-dir", "outputs", "env", "rotation"]) {
            for pair in pairs {
                switch pair.key.scalar {
                case "output-dir":
                    if let text = text(pair.value, "'defaults.output-dir'") {
                        outputDirectoryPath = text
                        outputDirectoryLocation = pair.value.location
                    }
                case "outputs":
                    if let items = pair.value.sequence { defaultOutputs = items } else {
                        error("'defaults.outputs' must be a sequence of outputs, found \(pair.value.kindName)", at: pair.value.location)
                    }
                case "env":
                    defaultEnv = mapping(pair.value, "'defaults.env'") ?? []
                default: break
                }
            }
        }
        let outputDirectory = (insideManifestFolder(outputDirectoryPath, what: "'output-dir'", at: outputDirectoryLocation)
            ?? directory.appendingPathComponent(ManifestLoader.defaultOutputDirectory)).standardizedFileURL
        // Parsed and checked once, then shared by every function: a large default must not cost its
        // size again per function.
        let defaultVariables = decodeVariables(defaultEnv, of: "'defaults.env'", secrets: secrets, vars: vars)

        let outputFolder = outputDirectory.path
        var functions: [FunctionDefinition] = []
        // Output path (relative to the manifest's folder, or absolute outside it: one per file) -> the
        // index of the function that writes it.
        var outputOwners: [String: Int] = [:]
        if let functionsNode = value("functions"), let pairs = mapping(functionsNode, "'functions'") {
            outputOwners.reserveCapacity(pairs.count)
            functions.reserveCapacity(pairs.count)
            if pairs.isEmpty {
                error("'functions' declares no function", at: functionsNode.location)
            }
            let decoded = inHalves(pairs.count) { [defaultOutputs] index, decoder in
                decoder.decodeFunction(
                    pairs[index], defaultVariables: defaultVariables, defaultOutputs: defaultOutputs, outputFolder: outputFolder,
                    secrets: secrets, vars: vars)
            }
            for case let function? in decoded {
                for output in function.outputs {
                    if let index = outputOwners[output.path] {
                        let owner = index < functions.count ? functions[index] : function
                        let place = owner.outputs.first { $0.path == output.path }?.location ?? owner.location
                        error("output '\(output.path)' of function '\(function.name)' is also written by function '\(owner.name)' (\(place)); give one of them another 'path'", at: output.location)
                    } else {
                        outputOwners[output.path] = functions.count
                    }
                }
                functions.append(function)
            }
        } else if value("functions") == nil {
            error("missing 'functions:': the manifest renders nothing without one", at: root.location)
        }

        return Manifest(
            url: url, displayPath: displayPath, environment: environment, environmentNames: environmentNames,
            providers: providers, secrets: secrets, vars: vars, outputDirectory: outputDirectory,
            functions: functions.sorted { $0.name < $1.name })
    }

    mutating func decodeProviders(_ node: YAMLNode?, root: YAMLNode) -> [String: ProviderDeclaration] {
        var providers: [String: ProviderDeclaration] = [:]
        guard let node, let pairs = mapping(node, "'providers'") else { return providers }
        for pair in pairs {
            let name = pair.key.scalar ?? ""
            guard Names.isIdentifier(name) else {
                error("provider name '\(name)' must start with a letter or '_' and use letters, digits, '_' or '-'", at: pair.key.location)
                continue
            }
            guard let settings = pair.value.mapping else {
                error("provider '\(name)' must be a mapping with a 'type', found \(pair.value.kindName)", at: pair.value.location)
                continue
            }
            guard let typeNode = settings.first(where: { $0.key.scalar == "type" })?.value, let type = typeNode.scalar else {
                error("provider '\(name)' needs a 'type': one of \(registry.typeNames.joined(separator: ", "))", at: pair.value.location)
                continue
            }
            let declaration = ProviderDeclaration(
                name: name, type: type, node: pair.value, baseDirectory: directory, environment: processEnvironment)
            // Declared even when its type is unknown, so its secrets are not reported as well.
            providers[name] = declaration
            guard let kind = registry.kind(named: type) else {
                error("unknown provider type '\(type)' for provider '\(name)'; known types: \(registry.typeNames.joined(separator: ", "))"
                    + didYouMean(type, registry.typeNames), at: typeNode.location)
                continue
            }
            // Each kind reads and checks its own settings offline (this is `validate`); nothing is
            // built or contacted here, and `make` and `policy` take the settings as read.
            do {
                var checked = declaration
                checked.settings = try kind.settings(declaration)
                providers[name] = checked
            } catch let failure as InjectSecretsError {
                diagnostics.append(contentsOf: failure.diagnostics)
            } catch {
                self.error("provider '\(name)': \(error)", at: pair.value.location)
            }
        }
        return providers
    }

    mutating func decodeVars(_ node: YAMLNode?) -> [String: String] {
        var vars: [String: String] = [:]
        guard let node, let pairs = mapping(node, "'vars'") else { return vars }
        for pair in pairs {
            let name = pair.key.scalar ?? ""
            guard Names.isIdentifier(name) else {
                error("variable name '\(name)' must start with a letter or '_' and use letters, digits, '_' or '-'", at: pair.key.location)
                continue
            }
            if let text = text(pair.value, "variable '\(name)'") { vars[name] = text }
        }
        return vars
    }

    static let secretKeys = ["provider", "id", "version", "rotation"]

    mutating func decodeSecrets(_ node: YAMLNode?, providers: [String: ProviderDeclaration], vars: [String: String], root: YAMLNode) -> [String: SecretDeclaration] {
        var secrets: [String: SecretDeclaration] = [:]
        guard let node, let pairs = mapping(node, "'secrets'") else { return secrets }
        secrets.reserveCapacity(pairs.count)
        // Types only: a declaration copied per secret costs its settings tree each time.
        let providerTypes = providers.mapValues(\.type)
        for case let declaration? in inHalves(pairs.count, { index, decoder in
            decoder.decodeSecret(pairs[index], providerTypes: providerTypes, vars: vars)
        }) {
            secrets[declaration.name] = declaration
        }
        return secrets
    }

    /// One entry of `secrets:`; nil where it has an error.
    mutating func decodeSecret(_ pair: YAMLPair, providerTypes: [String: String], vars: [String: String]) -> SecretDeclaration? {
        let name = pair.key.scalar ?? ""
        guard Names.isIdentifier(name) else {
            error("secret name '\(name)' must start with a letter or '_' and use letters, digits, '_' or '-'", at: pair.key.location)
            return nil
        }
        guard let fields = mapping(pair.value, "secret '\(name)'", allowed: Self.secretKeys) else { return nil }
        func field(_ key: String) -> YAMLNode? { fields.first { $0.key.scalar == key }?.value }
        guard let providerNode = field("provider"), let providerName = text(providerNode, "'provider' of secret '\(name)'") else {
            if field("provider") == nil { error("secret '\(name)' needs a 'provider'", at: pair.value.location) }
            return nil
        }
        guard let providerType = providerTypes[providerName] else {
            error("secret '\(name)' names unknown provider '\(providerName)'" + didYouMean(providerName, providerNames), at: providerNode.location)
            return nil
        }
        guard let idNode = field("id"), let idText = text(idNode, "'id' of secret '\(name)'"), !idText.isEmpty else {
            error("secret '\(name)' needs an 'id': its name or path in the store", at: field("id")?.location ?? pair.value.location)
            return nil
        }
        var policy = VersionPolicy.current
        if let versionNode = field("version") {
            if let text = text(versionNode, "'version' of secret '\(name)'") {
                policy = VersionPolicy(parsing: text)
                if case .stage(let label) = policy, label.isEmpty {
                    error("'stage:' needs a label, such as stage:AWSPREVIOUS", at: versionNode.location)
                }
            }
        }
        do {
            let template = try TemplateParser.parse(idText, origin: .init(node: idNode))
            for reference in template.references {
                switch reference.kind {
                case .secret, .runtime:
                    error("a secret id cannot use \(reference.text): only ${vars.*} and ${env.*}", at: reference.location)
                case .variable(let variable) where vars[variable] == nil:
                    error("unknown variable '\(variable)' in the id of secret '\(name)'" + didYouMean(variable, varNames), at: reference.location)
                default: break
                }
            }
            // The store's own rules, where the id can be known offline.
            if let id = try? TemplateEvaluator.expandID(template, vars: vars, environment: processEnvironment),
                let kind = registry.kind(named: providerType)
            {
                for problem in kind.problems(with: SecretReference(name: name, id: id, policy: policy)) {
                    error(problem, at: pair.key.location)
                }
            }
            let rotation = field("rotation").flatMap { decodeRotationFields($0, "'rotation' of secret '\(name)'") }
            return SecretDeclaration(
                name: name, providerName: providerName, providerType: providerType, id: template, policy: policy,
                location: pair.key.location,
                rotation: rotationPolicy(rotation, defaults: defaultRotation, secret: name, at: pair.key.location))
        } catch let failure as InjectSecretsError {
            diagnostics.append(contentsOf: failure.diagnostics)
        } catch {}
        return nil
    }

    /// `decode` over the items `0..<count`, in two halves at once when there are enough (`inTwoHalves`:
    /// each secret and function is decoded on its own), each half with a decoder of its own whose
    /// diagnostics are added to this one's. Diagnostics are sorted by place when thrown, so the order the
    /// halves add them in does not matter.
    mutating func inHalves<Item: Sendable>(_ count: Int, _ decode: @escaping @Sendable (Int, inout ManifestDecoder) -> Item) -> [Item] {
        var fresh = self
        fresh.diagnostics = DiagnosticCollector()
        let parts = inTwoHalves(count) { [fresh] range in
            var decoder = fresh
            return (range.map { decode($0, &decoder) }, decoder.diagnostics.diagnostics)
        }
        for part in parts { diagnostics.append(contentsOf: part.1) }
        return parts.flatMap(\.0)
    }

    mutating func decodeFunction(
        _ pair: YAMLPair, defaultVariables: [String: VariableDefinition], defaultOutputs: [YAMLNode]?, outputFolder: String,
        secrets: [String: SecretDeclaration], vars: [String: String]
    ) -> FunctionDefinition? {
        let name = pair.key.scalar ?? ""
        guard Names.isFunctionName(name) else {
            error("function name '\(name)' must be 1 to 64 letters, digits, '-' or '_', starting with a letter or digit", at: pair.key.location)
            return nil
        }
        guard let fields = mapping(pair.value, "function '\(name)'", allowed: ["env", "outputs", "lambda"]) else { return nil }
        func field(_ key: String) -> YAMLNode? { fields.first { $0.key.scalar == key }?.value }

        var own: [String: VariableDefinition] = [:]
        if let env = field("env"), let pairs = mapping(env, "'env' of function '\(name)'") {
            own = decodeVariables(pairs, of: "function '\(name)'", secrets: secrets, vars: vars)
        }
        let variables = own.merging(defaultVariables) { own, _ in own }.values.sorted { $0.key < $1.key }

        var outputs: [OutputDefinition] = []
        let outputNodes: [YAMLNode]
        if let node = field("outputs") {
            guard let items = node.sequence else {
                error("'outputs' of function '\(name)' must be a sequence, found \(node.kindName)", at: node.location)
                return nil
            }
            outputNodes = items
        } else {
            outputNodes = defaultOutputs ?? [YAMLNode(.mapping([YAMLPair(key: YAMLNode(.scalar("format", .plain), at: pair.key.location), value: YAMLNode(.scalar("dotenv", .plain), at: pair.key.location))]), at: pair.key.location)]
        }
        for node in outputNodes {
            guard let fields = mapping(node, "an output of function '\(name)'", allowed: ["format", "path"]) else { continue }
            guard let formatNode = fields.first(where: { $0.key.scalar == "format" })?.value,
                let formatName = text(formatNode, "'format'")
            else {
                error("an output of function '\(name)' needs a 'format': one of \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))", at: node.location)
                continue
            }
            guard let format = OutputFormat(rawValue: formatName) else {
                error("unknown output format '\(formatName)'; known formats: \(OutputFormat.allCases.map(\.rawValue).joined(separator: ", "))" + didYouMean(formatName, OutputFormat.allCases.map(\.rawValue)), at: formatNode.location)
                continue
            }
            if let pathNode = fields.first(where: { $0.key.scalar == "path" })?.value {
                guard let path = text(pathNode, "'path'"), let checked = insideManifestFolder(path, what: "output path '\(path)'", at: pathNode.location) else { continue }
                outputs.append(OutputDefinition(format: format, absolutePath: checked.path, manifestFolder: directoryPath, location: node.location))
            } else {
                // A function name has no '/' and no '..', so this path is standard as it is: the URL
                // work of standardizing it (most of what a large manifest costs) is not needed.
                outputs.append(OutputDefinition(
                    format: format, absolutePath: outputFolder + "/" + name + format.fileSuffix,
                    manifestFolder: directoryPath, location: node.location))
            }
        }
        if outputs.contains(where: { $0.format == .lambda }) || field("lambda") != nil {
            checkLambdaRules(function: name, variables: variables)
        }
        if let lambda = field("lambda") {
            do { _ = try LambdaTarget.parse(lambda, function: name) } catch let failure as InjectSecretsError {
                diagnostics.append(contentsOf: failure.diagnostics)
            } catch {}
        }
        return FunctionDefinition(name: name, location: pair.key.location, variables: variables, outputs: outputs, lambdaNode: field("lambda"))
    }

    /// The variables of an `env` mapping, each parsed and checked once; `owner` names it in messages
    /// ("function 'checkout'", "'defaults.env'"). A variable with an error is left out.
    mutating func decodeVariables(
        _ pairs: [YAMLPair], of owner: String, secrets: [String: SecretDeclaration], vars: [String: String]
    ) -> [String: VariableDefinition] {
        var variables: [String: VariableDefinition] = [:]
        for envPair in pairs {
            let key = envPair.key.scalar ?? ""
            guard Names.isEnvironmentName(key) else {
                error("variable '\(key)' of \(owner) is not a valid environment variable name: use letters, digits and '_', not starting with a digit", at: envPair.key.location)
                continue
            }
            guard let text = text(envPair.value, "variable '\(key)' of \(owner)") else { continue }
            do {
                let template = try TemplateParser.parse(text, origin: .init(node: envPair.value))
                for reference in template.references {
                    switch reference.kind {
                    case .secret(let secret, _) where secrets.index(forKey: secret) == nil,
                        .runtime(let secret, _, _) where secrets.index(forKey: secret) == nil:
                        error("\(owner) uses undeclared secret '\(secret)' in \(key); declare it under 'secrets:'" + didYouMean(secret, secretNames), at: reference.location)
                    case .runtime(let secret, let field, let follows):
                        checkRuntimeReference(reference, secrets[secret]!, field: field, follows: follows, in: "\(key) of \(owner)")
                    case .variable(let variable) where vars[variable] == nil:
                        error("unknown variable '\(variable)' in \(key) of \(owner)" + didYouMean(variable, varNames), at: reference.location)
                    default: break
                    }
                }
                variables[key] = VariableDefinition(key: key, template: template, location: envPair.key.location)
            } catch let failure as InjectSecretsError {
                diagnostics.append(contentsOf: failure.diagnostics)
            } catch {}
        }
        return variables
    }

    /// `${ref.*}` needs a store whose references something resolves at run time, and a form it can resolve.
    mutating func checkRuntimeReference(
        _ reference: TemplateReference, _ secret: SecretDeclaration, field: String?, follows: Bool, in place: String
    ) {
        guard let kind = registry.kind(named: secret.providerType) as? any RuntimeReferencing.Type else {
            let supporting = registry.kinds.filter { $0 is any RuntimeReferencing.Type }.map { $0.typeName }
            error(
                "\(reference.text) in \(place): secret '\(secret.name)' is in a store of type '\(secret.providerType)', which nothing resolves at run time; use ${secrets.\(secret.name)\(field.map { "[\"\($0)\"]" } ?? "")} to render the value, or keep it in a store of type \(supporting.joined(separator: ", "))",
                at: reference.location)
            return
        }
        for problem in kind.runtimeReferenceProblems(RuntimeReferenceRequest(field: field, follows: follows, policy: secret.policy)) {
            error("\(reference.text) in \(place): \(problem)", at: reference.location)
        }
    }

    /// Lambda refuses bad keys, reserved keys and more than 4 KB; what is known before reading any
    /// secret is checked here so that a deploy cannot fail on it later.
    mutating func checkLambdaRules(function: String, variables: [VariableDefinition]) {
        var knownBytes = 0
        for variable in variables {
            if let problem = LambdaEnvironmentRules.keyProblem(variable.key) {
                error("variable '\(variable.key)' of function '\(function)' cannot go to Lambda: \(problem)", at: variable.location)
            }
            let literalBytes = variable.template.segments.reduce(0) { sum, segment in
                if case .literal(let text) = segment { return sum + text.utf8.count }
                return sum
            }
            knownBytes += variable.key.utf8.count + literalBytes
        }
        if knownBytes > LambdaEnvironmentRules.maxTotalBytes, let first = variables.first {
            error("the environment of function '\(function)' is at least \(knownBytes) bytes before any secret is added; Lambda allows \(LambdaEnvironmentRules.maxTotalBytes)", at: first.location)
        }
    }

    /// Resolves a manifest-relative path and refuses one that leaves the manifest's folder, unless
    /// `allowOutsidePaths` (then an absolute path is taken as it is).
    mutating func insideManifestFolder(_ path: String, what: String, at location: SourceLocation) -> URL? {
        if path.isEmpty {
            error("\(what) is empty", at: location)
            return nil
        }
        if path.hasPrefix("~") {
            error("\(what) starts with '~', which is not expanded; write a path relative to the manifest's folder", at: location)
            return nil
        }
        if path.hasPrefix("/") {
            if allowOutsidePaths { return URL(fileURLWithPath: path).standardizedFileURL }
            error("\(what) must be relative to the manifest's folder, not absolute; pass --allow-outside-output-paths to write outside it", at: location)
            return nil
        }
        let resolved = URL(fileURLWithPath: path, relativeTo: directory).standardizedFileURL
        let base = directoryPath
        guard resolved.path.hasPrefix(base + "/") || allowOutsidePaths else {
            error("\(what) leaves the manifest's folder; pass --allow-outside-output-paths to write outside it", at: location)
            return nil
        }
        guard resolved.path != base && resolved.path != "/" else {
            error("\(what) names the manifest's folder itself, not a file", at: location)
            return nil
        }
        return resolved
    }
}
