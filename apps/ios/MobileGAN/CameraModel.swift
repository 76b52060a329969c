import AVFoundation
import CoreVideo
import Foundation
import ImageIO
import UIKit

/// Back camera frames (32BGRA) delivered on a background queue; late frames are dropped so the
/// model never falls behind the camera.
final class CameraModel: NSObject, AVCaptureVideoDataOutputSampleBufferDelegate {
    private let session = AVCaptureSession()
    private let frames = DispatchQueue(label: "dev.mobilegan.camera")
    private var configured = false
    var onFrame: ((CVPixelBuffer) -> Void)?

    /// How to turn a back-camera frame (sensor landscape, home button right) upright for the
    /// current interface orientation.
    static func backCameraOrientation(for interface: UIInterfaceOrientation) -> CGImagePropertyOrientation {
        switch interface {
        case .landscapeRight:
            return .up
        case .landscapeLeft:
            return .down
        case .portraitUpsideDown:
            return .left
        default:
            return .right
        }
    }

    static func requestAccess() async -> Bool {
        switch AVCaptureDevice.authorizationStatus(for: .video) {
        case .authorized:
            return true
        case .notDetermined:
            return await AVCaptureDevice.requestAccess(for: .video)
        default:
            return false
        }
    }

    func start() throws {
        if !configured {
            try configure()
        }
        frames.async { [session] in
            session.startRunning()
        }
    }

    func stop() {
        frames.async { [session] in
            session.stopRunning()
        }
    }

    private func configure() throws {
        session.beginConfiguration()
        defer {
            session.commitConfiguration()
        }
        session.sessionPreset = .vga640x480
        guard let device = AVCaptureDevice.default(.builtInWideAngleCamera, for: .video, position: .back) else {
            throw AppError.message("no back camera on this device")
        }
        let input = try AVCaptureDeviceInput(device: device)
        guard session.canAddInput(input) else {
            throw AppError.message("cannot use the camera input")
        }
        session.addInput(input)
        let output = AVCaptureVideoDataOutput()
        output.videoSettings = [kCVPixelBufferPixelFormatTypeKey as String: kCVPixelFormatType_32BGRA]
        output.alwaysDiscardsLateVideoFrames = true
        output.setSampleBufferDelegate(self, queue: frames)
        guard session.canAddOutput(output) else {
            throw AppError.message("cannot read camera frames")
        }
        session.addOutput(output)
        configured = true
    }

    func captureOutput(_ output: AVCaptureOutput, didOutput sampleBuffer: CMSampleBuffer, from connection: AVCaptureConnection) {
        guard let pixelBuffer = CMSampleBufferGetImageBuffer(sampleBuffer) else {
            return
        }
        onFrame?(pixelBuffer)
    }
}
