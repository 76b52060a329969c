import CoreGraphics
import CoreImage
import CoreVideo
import Foundation
import ImageIO
import UIKit

/// Screen state: model loading, photo/camera inference, latency window, self-test and benchmark.
@MainActor
final class AppModel: ObservableObject {
    @Published var status = "Loading model…"
    @Published var modelInfo = ""
    @Published var inputImage: CGImage?
    @Published var outputImage: CGImage?
    @Published var latencyText = "–"
    @Published var report = ""
    @Published var benchFile: URL?
    @Published var cameraOn = false
    @Published var busy = false

    private var model: StyleModel?
    private var latency = LatencyWindow(capacity: 30)
    /// The last model-size input (what the input pane shows): the benchmark reruns it.
    private var lastInput: CVPixelBuffer?
    private var frameInFlight = false
    private let camera = CameraModel()

    /// Loads model.json and the Core ML model without blocking the main thread.
    func load() async {
        do {
            guard let resources = Bundle.main.resourceURL else {
                throw AppError.message("app bundle has no resources")
            }
            let card = try ModelCard.load(from: resources.appendingPathComponent("model.json"))
            let loaded = try await StyleModel.load(card: card)
            model = loaded
            let artifact = loaded.artifact
            modelInfo = "\(card.name) · \(artifact.file) · \(artifact.precision) · \(loaded.width)×\(loaded.height) · Core ML (Vision)"
            status = "Ready: pick a photo or start the camera"
        } catch {
            status = "Model not loaded: \(error.localizedDescription)"
        }
    }

    func stylize(photoData: Data) async {
        guard let model else {
            return
        }
        stopCamera()
        guard let source = CGImageSourceCreateWithData(photoData as CFData, nil),
              let image = CGImageSourceCreateImageAtIndex(source, 0, nil) else {
            report = "could not decode the picked image"
            return
        }
        let properties = CGImageSourceCopyPropertiesAtIndex(source, 0, nil) as? [CFString: Any]
        let raw = properties?[kCGImagePropertyOrientation] as? UInt32 ?? 1
        let orientation = CGImagePropertyOrientation(rawValue: raw) ?? .up
        do {
            let result = try await model.stylize(image: CIImage(cgImage: image), orientation: orientation)
            show(result)
        } catch {
            report = "inference failed: \(error.localizedDescription)"
        }
    }

    func toggleCamera() async {
        if cameraOn {
            stopCamera()
            return
        }
        guard await CameraModel.requestAccess() else {
            report = "Camera access denied: pick a photo instead (Settings > MobileGAN > Camera)."
            return
        }
        camera.onFrame = { [weak self] frame in
            // The task captures self weakly itself: it runs after this closure has returned.
            Task { @MainActor [weak self] in
                await self?.stylize(frame: frame)
            }
        }
        do {
            try camera.start()
            cameraOn = true
        } catch {
            report = error.localizedDescription
        }
    }

    func stopCamera() {
        guard cameraOn else {
            return
        }
        camera.stop()
        cameraOn = false
    }

    private func stylize(frame: CVPixelBuffer) async {
        guard let model, cameraOn, !frameInFlight else {
            return
        }
        frameInFlight = true
        defer {
            frameInFlight = false
        }
        do {
            let orientation = CameraModel.backCameraOrientation(for: interfaceOrientation)
            let result = try await model.stylize(image: CIImage(cvPixelBuffer: frame), orientation: orientation)
            show(result)
        } catch {
            report = "inference failed: \(error.localizedDescription)"
        }
    }

    private var interfaceOrientation: UIInterfaceOrientation {
        let scene = UIApplication.shared.connectedScenes.compactMap { $0 as? UIWindowScene }.first
        return scene?.interfaceOrientation ?? .portrait
    }

    private func show(_ result: Stylized) {
        lastInput = result.input
        inputImage = PixelBuffers.cgImage(from: result.input)
        outputImage = PixelBuffers.cgImage(from: result.output)
        latency.add(result.milliseconds)
        latencyText = String(format: "%.1f ms", latency.median) + " median of last \(latency.values.count)"
    }

    func runSelfTest() async {
        guard let model, let resources = Bundle.main.resourceURL else {
            return
        }
        busy = true
        defer {
            busy = false
        }
        do {
            let result = try await SelfTest.run(model: model, resources: resources)
            report = result.summary
        } catch {
            report = "SELF-TEST ERROR: \(error.localizedDescription)"
        }
        print(report)
    }

    func runBenchmark(runs: Int = 30, warmup: Int = 5) async {
        guard let model else {
            return
        }
        stopCamera()
        busy = true
        defer {
            busy = false
        }
        do {
            let frame = try lastInput ?? PixelBuffers.makeBGRA(
                fromUnitNCHW: [Float](repeating: 0.5, count: 3 * model.width * model.height),
                width: model.width,
                height: model.height
            )
            let result = try await BenchResult.measure(model: model, frame: frame, runs: runs, warmup: warmup)
            let url = try result.save()
            benchFile = url
            let json = String(decoding: try result.jsonData(), as: UTF8.self)
            // Also on the console, for scripts reading the device log.
            print("MobileganBench \(json.replacingOccurrences(of: "\n", with: " "))")
            report = "\(result.summary)\nsaved Documents/\(url.lastPathComponent)\n\n\(json)"
        } catch {
            report = "BENCHMARK ERROR: \(error.localizedDescription)"
        }
    }
}
