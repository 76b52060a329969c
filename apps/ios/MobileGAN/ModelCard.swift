import Foundation

/// The parts of model.json (docs/model-json.md, schema_version 2) the app uses.
/// Everything about the model comes from here; nothing is hard-coded.
struct TensorSpec: Decodable {
    let name: String
    let shape: [Int]
    let layout: String
    let dtype: String
    let range: [Double]
}

/// One `artifacts[]` entry; `selftestMinPsnrDb` is the PSNR its on-device self-test must reach.
struct Artifact: Decodable {
    let target: String
    let file: String
    let precision: String
    let input: TensorSpec
    let output: TensorSpec
    let selftestMinPsnrDb: Double

    enum CodingKeys: String, CodingKey {
        case target
        case file
        case precision
        case input
        case output
        case selftestMinPsnrDb = "selftest_min_psnr_db"
    }

    /// Name of the compiled model Xcode puts in the bundle (`<stem>.mlmodelc`).
    var compiledStem: String {
        (file as NSString).deletingPathExtension
    }
}

struct SelfTestSpec: Decodable {
    let shape: [Int]
    let layout: String
    let dtype: String
    let range: [Double]
    let inputs: [String]
    let expected: [String]
}

struct ModelCard: Decodable {
    static let supportedSchemaVersion = 2
    static let target = "coreml"

    let schemaVersion: Int
    let name: String
    let size: [Int]
    let artifacts: [Artifact]
    let selftest: SelfTestSpec?

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
        case name
        case size
        case artifacts
        case selftest
    }

    /// The Core ML artifacts (.mlpackage files; `--app ios` installs one of them, which Xcode
    /// compiles into <stem>.mlmodelc).
    var coreMLArtifacts: [Artifact] {
        artifacts.filter { $0.target == ModelCard.target }
    }

    static func load(from url: URL) throws -> ModelCard {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AppError.message("no model.json in the app: run `mobilegan export --target coreml --app ios` and rebuild")
        }
        // The version first: an older card lacks fields the full decode needs.
        let version = try JSONDecoder().decode(SchemaVersion.self, from: data).schemaVersion
        guard version == supportedSchemaVersion else {
            throw AppError.message("model.json schema_version \(version) is not \(supportedSchemaVersion): re-export with this mobilegan")
        }
        let card = try JSONDecoder().decode(ModelCard.self, from: data)
        guard !card.coreMLArtifacts.isEmpty else {
            throw AppError.message("model.json lists no Core ML artifact: export with --target coreml")
        }
        return card
    }
}

private struct SchemaVersion: Decodable {
    let schemaVersion: Int

    enum CodingKeys: String, CodingKey {
        case schemaVersion = "schema_version"
    }
}

enum AppError: LocalizedError {
    case message(String)

    var errorDescription: String? {
        switch self {
        case .message(let text):
            return text
        }
    }
}
