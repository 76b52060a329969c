import Foundation

/// The last `capacity` latencies; the screen shows their median.
struct LatencyWindow {
    let capacity: Int
    private(set) var values: [Double] = []

    init(capacity: Int = 30) {
        self.capacity = capacity
    }

    mutating func add(_ milliseconds: Double) {
        values.append(milliseconds)
        if values.count > capacity {
            values.removeFirst(values.count - capacity)
        }
    }

    var median: Double {
        quantile(values, 0.5)
    }
}

/// Value at quantile q in 0...1, interpolating linearly between order statistics.
func quantile(_ values: [Double], _ q: Double) -> Double {
    guard !values.isEmpty else {
        return .nan
    }
    let sorted = values.sorted()
    let position = Double(sorted.count - 1) * q
    let lo = Int(position.rounded(.down))
    let hi = Int(position.rounded(.up))
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (position - Double(lo))
}
