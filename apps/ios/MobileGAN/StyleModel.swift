import CoreImage
import CoreML
import CoreVideo
import Foundation
import ImageIO
import Vision

/// A stylized frame: the model-size input the model saw (shown in the input pane, reused by the
/// benchmark), the output, and the inference time in ms.
struct Stylized {
    let input: CVPixelBuffer
    let output: CVPixelBuffer
    let milliseconds: Double
}

/// The exported Core ML generator run through Vision. The model takes an image and returns an
/// image (Core ML ImageType in and out); the app hands it a frame already oriented and
/// centre-cropped to the model's size (`PixelBuffers.modelInput`), so the input pane shows exactly
/// what the model saw. All requests run on one serial queue: the request object is reused.
final class StyleModel {
    let card: ModelCard
    let artifact: Artifact
    let computeUnits: MLComputeUnits
    private let request: VNCoreMLRequest
    private let queue = DispatchQueue(label: "dev.mobilegan.inference", qos: .userInitiated)

    private init(card: ModelCard, artifact: Artifact, model: MLModel, computeUnits: MLComputeUnits) throws {
        let request = VNCoreMLRequest(model: try VNCoreMLModel(for: model))
        request.imageCropAndScaleOption = .scaleFill // inputs arrive at model size: nothing to crop
        self.request = request
        self.card = card
        self.artifact = artifact
        self.computeUnits = computeUnits
    }

    /// Loads the first Core ML artifact of `card` whose compiled model is in the bundle, off the
    /// main thread (`MLModel.load` compiles for the device on first use, which can take seconds).
    static func load(card: ModelCard, bundle: Bundle = .main, computeUnits: MLComputeUnits = .all) async throws -> StyleModel {
        let present = card.coreMLArtifacts.compactMap { artifact in
            bundle.url(forResource: artifact.compiledStem, withExtension: "mlmodelc").map { (artifact, $0) }
        }
        guard let found = present.first else {
            let names = card.coreMLArtifacts.map(\.file).joined(separator: ", ")
            throw AppError.message("none of \(names) is compiled into the app: run `mobilegan export --target coreml --app ios`, then `xcodegen generate`, and rebuild")
        }
        let (artifact, compiled) = found
        guard artifact.input.layout == "image", artifact.output.layout == "image" else {
            throw AppError.message("the iOS app needs image input and output (layout \"image\"), \(artifact.file) has \(artifact.input.layout)")
        }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        let model = try await MLModel.load(contentsOf: compiled, configuration: configuration)
        return try StyleModel(card: card, artifact: artifact, model: model, computeUnits: computeUnits)
    }

    var width: Int {
        artifact.input.shape[3]
    }

    var height: Int {
        artifact.input.shape[2]
    }

    /// Orients `image` upright, centre-crops and scales it to the model's size, and stylizes it.
    func stylize(image: CIImage, orientation: CGImagePropertyOrientation) async throws -> Stylized {
        let (width, height) = (self.width, self.height)
        return try await onQueue { () throws -> Stylized in
            let input = try PixelBuffers.modelInput(from: image.oriented(orientation), width: width, height: height)
            let (output, ms) = try self.perform(VNImageRequestHandler(cvPixelBuffer: input, orientation: .up, options: [:]))
            return Stylized(input: input, output: output, milliseconds: ms)
        }
    }

    /// Runs the model on a frame that already has the model's size and orientation (self-test, benchmark).
    func stylize(modelInput: CVPixelBuffer) async throws -> (CVPixelBuffer, Double) {
        try await onQueue {
            try self.perform(VNImageRequestHandler(cvPixelBuffer: modelInput, orientation: .up, options: [:]))
        }
    }

    private func onQueue<T>(_ work: @escaping () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { try work() })
            }
        }
    }

    /// On `queue` only: the request object is shared.
    private func perform(_ handler: VNImageRequestHandler) throws -> (CVPixelBuffer, Double) {
        let start = DispatchTime.now().uptimeNanoseconds
        try handler.perform([request])
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
        guard let observation = request.results?.first as? VNPixelBufferObservation else {
            throw AppError.message("the model returned no image: was it exported with an image output?")
        }
        return (observation.pixelBuffer, elapsed)
    }
}
