import Foundation

/// One compared output: PSNR in [0, 1] pixel space against the artifact's selftest_min_psnr_db.
struct SelfTestCase: Identifiable {
    let id = UUID()
    let label: String
    let psnrDb: Double
    let thresholdDb: Double

    var pass: Bool {
        psnrDb >= thresholdDb
    }
}

struct SelfTestReport {
    let cases: [SelfTestCase]

    var pass: Bool {
        !cases.isEmpty && cases.allSatisfy { $0.pass }
    }

    var summary: String {
        let lines = cases.map { c in
            "\(c.label): \(String(format: "%.1f", c.psnrDb)) dB (>= \(String(format: "%.0f", c.thresholdDb))) \(c.pass ? "pass" : "FAIL")"
        }
        return ([pass ? "SELF-TEST PASS" : "SELF-TEST FAIL"] + lines).joined(separator: "\n")
    }
}

/// Runs the exporter's test vectors (model.json "selftest", shipped in the bundle's selftest/
/// folder) through the Core ML model and compares with the eager PyTorch outputs. Inputs go in as
/// 8-bit images (the model's ImageType), as a photo would, at the model's size.
enum SelfTest {
    static func run(model: StyleModel, resources: URL) async throws -> SelfTestReport {
        guard let spec = model.card.selftest else {
            throw AppError.message("model.json has no selftest section: re-export the model")
        }
        let threshold = model.artifact.selftestMinPsnrDb // 8-bit image output: below the fp32 60 dB
        let count = spec.shape.reduce(1, *)
        var cases: [SelfTestCase] = []
        for (inputPath, expectedPath) in zip(spec.inputs, spec.expected) {
            let input = try toUnit(readFloats(resources.appendingPathComponent(inputPath), count: count), range: spec.range)
            let expected = try toUnit(readFloats(resources.appendingPathComponent(expectedPath), count: count), range: spec.range)
            let pixelBuffer = try PixelBuffers.makeBGRA(fromUnitNCHW: input, width: spec.shape[3], height: spec.shape[2])
            let (output, _) = try await model.stylize(modelInput: pixelBuffer)
            let actual = try PixelBuffers.unitNCHW(from: output)
            cases.append(SelfTestCase(label: inputPath, psnrDb: psnr(actual, expected), thresholdDb: threshold))
        }
        return SelfTestReport(cases: cases)
    }

    /// Raw little-endian float32 values, as the exporter writes them.
    static func readFloats(_ url: URL, count: Int) throws -> [Float] {
        let data = try Data(contentsOf: url)
        guard data.count == 4 * count else {
            throw AppError.message("\(url.lastPathComponent): \(data.count) bytes, expected \(4 * count)")
        }
        return data.withUnsafeBytes { raw in
            (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * $0, as: UInt32.self))) }
        }
    }

    static func toUnit(_ values: [Float], range: [Double]) -> [Float] {
        let lo = Float(range[0])
        let span = Float(range[1] - range[0])
        return values.map { max(0, min(1, ($0 - lo) / span)) }
    }

    /// 10 * log10(1 / MSE) on [0, 1] values (docs/model-json.md).
    static func psnr(_ a: [Float], _ b: [Float]) -> Double {
        precondition(a.count == b.count, "psnr: \(a.count) != \(b.count) values")
        var sum = 0.0
        for i in 0..<a.count {
            let d = Double(a[i] - b[i])
            sum += d * d
        }
        let mse = sum / Double(a.count)
        return mse == 0 ? .infinity : 10 * log10(1 / mse)
    }
}
