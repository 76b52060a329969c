package dev.mobilegan.sample

import kotlin.math.ceil
import kotlin.math.floor

/** The last [capacity] latencies; the screen shows their median. */
class LatencyWindow(private val capacity: Int = 30) {
    private val values = ArrayDeque<Double>(capacity)

    @Synchronized
    fun add(ms: Double) {
        if (values.size == capacity) {
            values.removeFirst()
        }
        values.addLast(ms)
    }

    @Synchronized
    fun median(): Double = quantile(values.toList(), 0.5)

    val count: Int
        @Synchronized get() = values.size
}

/** Value at quantile [q] in 0..1, interpolating linearly between order statistics. */
fun quantile(values: List<Double>, q: Double): Double {
    if (values.isEmpty()) {
        return Double.NaN
    }
    val sorted = values.sorted()
    val pos = (sorted.size - 1) * q
    val lo = floor(pos).toInt()
    val hi = ceil(pos).toInt()
    return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo)
}
