import CoreML
import CoreVideo
import Foundation
import ImageIO
import Vision

/// The exported Core ML generator run through Vision. The model takes an image and returns an
/// image (Core ML ImageType in and out), so Vision does the scaling/cropping and the pixel
/// conversion; the app gets the stylized frame as a CVPixelBuffer.
/// All requests run on one serial queue: the request object is reused for every frame.
final class StyleModel {
    let card: ModelCard
    let artifact: Artifact
    let computeUnits: MLComputeUnits
    private let request: VNCoreMLRequest
    private let queue = DispatchQueue(label: "dev.mobilegan.inference", qos: .userInitiated)

    init(card: ModelCard, bundle: Bundle = .main, computeUnits: MLComputeUnits = .all) throws {
        guard let artifact = card.coreMLArtifact else {
            throw AppError.message("model.json lists no Core ML artifact")
        }
        let stem = (artifact.file as NSString).deletingPathExtension
        guard let compiled = bundle.url(forResource: stem, withExtension: "mlmodelc") else {
            throw AppError.message("\(stem).mlmodelc is not in the app bundle: add \(artifact.file) to MobileGAN/Model and rebuild")
        }
        let configuration = MLModelConfiguration()
        configuration.computeUnits = computeUnits
        let visionModel = try VNCoreMLModel(for: MLModel(contentsOf: compiled, configuration: configuration))
        let request = VNCoreMLRequest(model: visionModel)
        request.imageCropAndScaleOption = .centerCrop
        self.request = request
        self.card = card
        self.artifact = artifact
        self.computeUnits = computeUnits
    }

    var width: Int {
        artifact.input.shape[3]
    }

    var height: Int {
        artifact.input.shape[2]
    }

    /// Runs the model on a camera frame or a decoded photo; returns the output and the time in ms.
    func stylize(pixelBuffer: CVPixelBuffer, orientation: CGImagePropertyOrientation) async throws -> (CVPixelBuffer, Double) {
        try await perform(VNImageRequestHandler(cvPixelBuffer: pixelBuffer, orientation: orientation, options: [:]))
    }

    func stylize(cgImage: CGImage, orientation: CGImagePropertyOrientation) async throws -> (CVPixelBuffer, Double) {
        try await perform(VNImageRequestHandler(cgImage: cgImage, orientation: orientation, options: [:]))
    }

    private func perform(_ handler: VNImageRequestHandler) async throws -> (CVPixelBuffer, Double) {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [request] in
                do {
                    let start = DispatchTime.now().uptimeNanoseconds
                    try handler.perform([request])
                    let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6
                    guard let observation = request.results?.first as? VNPixelBufferObservation else {
                        throw AppError.message("the model returned no image: was it exported with an image output?")
                    }
                    continuation.resume(returning: (observation.pixelBuffer, elapsed))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        }
    }
}
