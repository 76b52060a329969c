import CoreML
import CoreVideo
import Foundation
import UIKit

/// N timed runs after warm-up, reported in the `mobilegan bench` row schema (mobilegan.bench/1),
/// which `mobilegan bench --import FILE.json` merges.
struct BenchResult {
    static let schema = "mobilegan.bench/1"

    let model: String
    let runtime: String
    let precision: String
    let size: [Int]
    let timesMs: [Double]
    let warmup: Int

    var medianMs: Double {
        quantile(timesMs, 0.5)
    }

    var p10Ms: Double {
        quantile(timesMs, 0.1)
    }

    var p90Ms: Double {
        quantile(timesMs, 0.9)
    }

    var summary: String {
        let ms = { (value: Double) in String(format: "%.2f ms", value) }
        return "\(model) \(precision): median \(ms(medianMs)), p10 \(ms(p10Ms)), p90 \(ms(p90Ms)) over \(timesMs.count) runs"
    }

    func jsonObject() -> [String: Any] {
        let round3 = { (value: Double) -> Double in (value * 1000).rounded() / 1000 }
        let sizeValue: Any = size.count == 2 && size[0] != size[1] ? size : size[0]
        let row: [String: Any] = [
            "model": model,
            "runtime": runtime,
            "precision": precision,
            "threads": 0,
            "size": sizeValue,
            "median_ms": round3(medianMs),
            "p10_ms": round3(p10Ms),
            "p90_ms": round3(p90Ms),
            "runs": timesMs.count,
            "warmup": warmup,
            "source": "device",
        ]
        return [
            "schema": BenchResult.schema,
            "created": ISO8601DateFormatter().string(from: Date()),
            "app": ["name": "mobilegan-ios"],
            "machine": ["device": BenchResult.deviceModel(), "os": "iOS \(UIDevice.current.systemVersion)"],
            "rows": [row],
        ]
    }

    func jsonData() throws -> Data {
        try JSONSerialization.data(withJSONObject: jsonObject(), options: [.prettyPrinted, .sortedKeys])
    }

    /// Writes the JSON into Documents (visible in Files and Finder) and returns its URL.
    func save() throws -> URL {
        let documents = try FileManager.default.url(for: .documentDirectory, in: .userDomainMask, appropriateFor: nil, create: true)
        let stamp = Int(Date().timeIntervalSince1970)
        let url = documents.appendingPathComponent("bench-\(model)-\(precision)-\(stamp).json")
        try jsonData().write(to: url, options: .atomic)
        return url
    }

    /// Hardware identifier such as "iPhone15,2" (the marketing name is not available on device).
    static func deviceModel() -> String {
        var info = utsname()
        uname(&info)
        let machine = withUnsafeBytes(of: &info.machine) { raw in
            String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
        }
        return machine.isEmpty ? UIDevice.current.model : machine
    }

    static func runtimeName(_ units: MLComputeUnits) -> String {
        switch units {
        case .cpuOnly:
            return "coreml-vision-cpu"
        case .cpuAndGPU:
            return "coreml-vision-cpu-gpu"
        case .cpuAndNeuralEngine:
            return "coreml-vision-cpu-ane"
        default:
            return "coreml-vision-all"
        }
    }

    /// Times `runs` stylizations of `frame` after `warmup` untimed ones.
    static func measure(model: StyleModel, frame: CVPixelBuffer, runs: Int, warmup: Int) async throws -> BenchResult {
        for _ in 0..<warmup {
            _ = try await model.stylize(modelInput: frame)
        }
        var times: [Double] = []
        for _ in 0..<runs {
            let (_, ms) = try await model.stylize(modelInput: frame)
            times.append(ms)
        }
        return BenchResult(
            model: model.card.name,
            runtime: runtimeName(model.computeUnits),
            precision: model.artifact.precision,
            size: model.card.size,
            timesMs: times,
            warmup: warmup
        )
    }
}
