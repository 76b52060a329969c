import Foundation

/// The parts of model.json (docs/model-json.md, schema_version 1) the app uses.
/// Everything about the model comes from here; nothing is hard-coded.
struct TensorSpec: Decodable {
    let name: String
    let shape: [Int]
    let layout: String
    let dtype: String
    let range: [Double]
}

struct Artifact: Decodable {
    let target: String
    let file: String
    let precision: String
    let input: TensorSpec
    let output: TensorSpec
}

struct SelfTestSpec: Decodable {
    let shape: [Int]
    let layout: String
    let dtype: String
    let range: [Double]
    let inputs: [String]
    let expected: [String]
    let minPsnrDb: [String: Double]

    enum CodingKeys: String, CodingKey {
        case shape
        case layout
        case dtype
        case range
        case inputs
        case expected
        case minPsnrDb = "min_psnr_db"
    }
}

struct ModelCard: Decodable {
    static let supportedSchemaVersion = 1
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

    /// The Core ML artifact (an .mlpackage that Xcode compiled into <stem>.mlmodelc).
    var coreMLArtifact: Artifact? {
        artifacts.first { $0.target == ModelCard.target }
    }

    static func load(from url: URL) throws -> ModelCard {
        let data: Data
        do {
            data = try Data(contentsOf: url)
        } catch {
            throw AppError.message("no model.json in the app: run `mobilegan export --target coreml --app ios` and rebuild")
        }
        let card = try JSONDecoder().decode(ModelCard.self, from: data)
        guard card.schemaVersion == supportedSchemaVersion else {
            throw AppError.message("model.json schema_version \(card.schemaVersion) is not \(supportedSchemaVersion)")
        }
        guard let artifact = card.coreMLArtifact else {
            throw AppError.message("model.json lists no Core ML artifact: export with --target coreml")
        }
        guard artifact.input.layout == "image", artifact.output.layout == "image" else {
            throw AppError.message("the iOS app needs image input and output (layout \"image\"), got \(artifact.input.layout)")
        }
        return card
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
