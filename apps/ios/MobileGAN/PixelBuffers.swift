import CoreImage
import CoreVideo
import Foundation

/// Conversions between self-test vectors (NCHW float32), BGRA pixel buffers and CGImages.
enum PixelBuffers {
    static let context = CIContext(options: [.cacheIntermediates: false])

    static func cgImage(from pixelBuffer: CVPixelBuffer) -> CGImage? {
        context.createCGImage(CIImage(cvPixelBuffer: pixelBuffer), from: CGRect(
            x: 0,
            y: 0,
            width: CVPixelBufferGetWidth(pixelBuffer),
            height: CVPixelBufferGetHeight(pixelBuffer)
        ))
    }

    /// `image` (already upright) scaled to cover width x height and centre-cropped to it, as an
    /// sRGB BGRA pixel buffer: the exact picture the model gets.
    static func modelInput(from image: CIImage, width: Int, height: Int) throws -> CVPixelBuffer {
        let extent = image.extent
        guard !extent.isInfinite, extent.width >= 1, extent.height >= 1 else {
            throw AppError.message("the picture is empty")
        }
        let scale = max(CGFloat(width) / extent.width, CGFloat(height) / extent.height)
        let scaled = image
            .transformed(by: CGAffineTransform(translationX: -extent.minX, y: -extent.minY))
            .applyingFilter("CILanczosScaleTransform", parameters: [kCIInputScaleKey: scale, kCIInputAspectRatioKey: 1.0])
        let crop = CGRect(
            x: ((scaled.extent.width - CGFloat(width)) / 2).rounded(),
            y: ((scaled.extent.height - CGFloat(height)) / 2).rounded(),
            width: CGFloat(width),
            height: CGFloat(height)
        )
        let cropped = scaled.cropped(to: crop).transformed(by: CGAffineTransform(translationX: -crop.minX, y: -crop.minY))
        let buffer = try makeBuffer(width: width, height: height)
        context.render(cropped, to: buffer, bounds: CGRect(x: 0, y: 0, width: width, height: height), colorSpace: sRGB)
        return buffer
    }

    /// NCHW RGB values in [0, 1] -> an 8-bit BGRA pixel buffer of width x height.
    static func makeBGRA(fromUnitNCHW values: [Float], width: Int, height: Int) throws -> CVPixelBuffer {
        let pixelBuffer = try makeBuffer(width: width, height: height)
        CVPixelBufferLockBaseAddress(pixelBuffer, [])
        defer {
            CVPixelBufferUnlockBaseAddress(pixelBuffer, [])
        }
        let rowBytes = CVPixelBufferGetBytesPerRow(pixelBuffer)
        let base = CVPixelBufferGetBaseAddress(pixelBuffer)!.assumingMemoryBound(to: UInt8.self)
        let plane = width * height
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let pixel = base + y * rowBytes + 4 * x
                pixel[0] = toByte(values[2 * plane + i])
                pixel[1] = toByte(values[plane + i])
                pixel[2] = toByte(values[i])
                pixel[3] = 255
            }
        }
        return pixelBuffer
    }

    /// Any 32-bit pixel buffer Vision returns (BGRA or ARGB) -> NCHW RGB values in [0, 1].
    static func unitNCHW(from pixelBuffer: CVPixelBuffer) throws -> [Float] {
        let format = CVPixelBufferGetPixelFormatType(pixelBuffer)
        let offsets: (r: Int, g: Int, b: Int)
        switch format {
        case kCVPixelFormatType_32BGRA:
            offsets = (2, 1, 0)
        case kCVPixelFormatType_32ARGB:
            offsets = (1, 2, 3)
        case kCVPixelFormatType_32RGBA:
            offsets = (0, 1, 2)
        default:
            throw AppError.message("unexpected output pixel format \(format)")
        }
        CVPixelBufferLockBaseAddress(pixelBuffer, .readOnly)
        defer {
            CVPixelBufferUnlockBaseAddress(pixelBuffer, .readOnly)
        }
        let width = CVPixelBufferGetWidth(pixelBuffer)
        let height = CVPixelBufferGetHeight(pixelBuffer)
        let rowBytes = CVPixelBufferGetBytesPerRow(pixelBuffer)
        let base = CVPixelBufferGetBaseAddress(pixelBuffer)!.assumingMemoryBound(to: UInt8.self)
        let plane = width * height
        var values = [Float](repeating: 0, count: 3 * plane)
        for y in 0..<height {
            for x in 0..<width {
                let i = y * width + x
                let pixel = base + y * rowBytes + 4 * x
                values[i] = Float(pixel[offsets.r]) / 255
                values[plane + i] = Float(pixel[offsets.g]) / 255
                values[2 * plane + i] = Float(pixel[offsets.b]) / 255
            }
        }
        return values
    }

    private static let sRGB = CGColorSpace(name: CGColorSpace.sRGB)

    private static func makeBuffer(width: Int, height: Int) throws -> CVPixelBuffer {
        var buffer: CVPixelBuffer?
        let attributes: [CFString: Any] = [kCVPixelBufferIOSurfacePropertiesKey: [:] as CFDictionary]
        let status = CVPixelBufferCreate(kCFAllocatorDefault, width, height, kCVPixelFormatType_32BGRA, attributes as CFDictionary, &buffer)
        guard status == kCVReturnSuccess, let pixelBuffer = buffer else {
            throw AppError.message("could not allocate a \(width)x\(height) pixel buffer (status \(status))")
        }
        return pixelBuffer
    }

    /// [0, 1] -> 0...255, rounded; NaN (a broken vector) becomes 0 instead of trapping in UInt8(_:).
    private static func toByte(_ value: Float) -> UInt8 {
        guard !value.isNaN else {
            return 0
        }
        return UInt8(max(0, min(255, (value * 255).rounded())))
    }
}
