package dev.mobilegan.sample

import java.nio.ByteBuffer
import java.nio.ByteOrder

/**
 * Minimal reader for ExecuTorch BundledProgram files (.bpte, FlatBuffers, file identifier "BP08"):
 * the embedded program plus test inputs and expected outputs. The Android Module API cannot verify
 * a bundled program itself, so the app extracts the program, runs it on the bundled inputs and
 * compares the outputs. Field numbers follow executorch's bundled_program_schema.fbs
 * (checked against the installed schema by tests/test_apps_sources.py).
 */
class BundledProgram private constructor(private val buf: ByteBuffer) {

    class TensorValue(val shape: LongArray, val data: FloatArray)

    class TestCase(val inputs: List<TensorValue>, val expectedOutputs: List<TensorValue>)

    /** The ExecuTorch program (.pte bytes) inside the bundle. */
    val program: ByteArray
        get() {
            val vec = vector(rootTable, FIELD_PROGRAM) ?: error("bundled program has no program")
            val bytes = ByteArray(vectorLength(vec))
            buf.position(vec + 4)
            buf.get(bytes)
            return bytes
        }

    /** Test cases of method [methodName] ("forward"). */
    fun testCases(methodName: String): List<TestCase> {
        val suites = vector(rootTable, FIELD_METHOD_TEST_SUITES) ?: return emptyList()
        for (suite in tables(suites)) {
            if (string(suite, FIELD_SUITE_METHOD_NAME) != methodName) {
                continue
            }
            val cases = vector(suite, FIELD_SUITE_TEST_CASES) ?: return emptyList()
            return tables(cases).map { case ->
                TestCase(
                    inputs = values(vector(case, FIELD_CASE_INPUTS)),
                    expectedOutputs = values(vector(case, FIELD_CASE_EXPECTED_OUTPUTS)),
                )
            }
        }
        return emptyList()
    }

    private val rootTable: Int
        get() = buf.getInt(0)

    private fun values(vec: Int?): List<TensorValue> {
        if (vec == null) {
            return emptyList()
        }
        return tables(vec).map { value ->
            val type = field(value, FIELD_VALUE_TYPE)?.let { buf.get(it).toInt() } ?: 0
            require(type == UNION_TENSOR) { "bundled value of union type $type is not a tensor" }
            tensor(indirect(field(value, FIELD_VALUE_VAL) ?: error("bundled value without data")))
        }
    }

    private fun tensor(table: Int): TensorValue {
        val scalarType = field(table, FIELD_TENSOR_SCALAR_TYPE)?.let { buf.get(it).toInt() } ?: 0
        require(scalarType == SCALAR_TYPE_FLOAT) { "bundled tensor has scalar type $scalarType, expected float32" }
        val sizesVec = vector(table, FIELD_TENSOR_SIZES) ?: error("bundled tensor without sizes")
        val shape = LongArray(vectorLength(sizesVec)) { buf.getInt(sizesVec + 4 + 4 * it).toLong() }
        val dataVec = vector(table, FIELD_TENSOR_DATA) ?: error("bundled tensor without data")
        val floats = FloatArray(vectorLength(dataVec) / 4)
        // Tensor bytes are in the device's native order (little-endian on every Android ABI).
        val view = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN)
        view.position(dataVec + 4)
        view.asFloatBuffer().get(floats)
        return TensorValue(shape, floats)
    }

    // --- FlatBuffers primitives (all offsets are absolute positions in buf) ---

    private fun field(table: Int, id: Int): Int? {
        val vtable = table - buf.getInt(table)
        val vtableSize = buf.getShort(vtable).toInt() and 0xFFFF
        val slot = 4 + 2 * id
        if (slot >= vtableSize) {
            return null
        }
        val offset = buf.getShort(vtable + slot).toInt() and 0xFFFF
        return if (offset == 0) null else table + offset
    }

    private fun indirect(pos: Int): Int = pos + buf.getInt(pos)

    private fun vector(table: Int, id: Int): Int? = field(table, id)?.let(::indirect)

    private fun vectorLength(vec: Int): Int = buf.getInt(vec)

    private fun tables(vec: Int): List<Int> = (0 until vectorLength(vec)).map { indirect(vec + 4 + 4 * it) }

    private fun string(table: Int, id: Int): String? {
        val vec = vector(table, id) ?: return null
        val bytes = ByteArray(vectorLength(vec))
        buf.position(vec + 4)
        buf.get(bytes)
        return String(bytes, Charsets.UTF_8)
    }

    companion object {
        const val FILE_IDENTIFIER = "BP08"

        // table BundledProgram
        const val FIELD_PROGRAM_VERSION = 0
        const val FIELD_METHOD_TEST_SUITES = 1
        const val FIELD_PROGRAM = 2

        // table BundledMethodTestSuite
        const val FIELD_SUITE_METHOD_NAME = 0
        const val FIELD_SUITE_TEST_CASES = 1

        // table BundledMethodTestCase
        const val FIELD_CASE_INPUTS = 0
        const val FIELD_CASE_EXPECTED_OUTPUTS = 1

        // table Value { val: ValueUnion } -> a type field and a value field
        const val FIELD_VALUE_TYPE = 0
        const val FIELD_VALUE_VAL = 1

        // table Tensor
        const val FIELD_TENSOR_SCALAR_TYPE = 0
        const val FIELD_TENSOR_SIZES = 1
        const val FIELD_TENSOR_DATA = 2

        // union ValueUnion { Tensor, Int, Bool, Double }: NONE = 0
        const val UNION_TENSOR = 1

        // executorch_flatbuffer.ScalarType.FLOAT
        const val SCALAR_TYPE_FLOAT = 6

        fun parse(bytes: ByteArray): BundledProgram {
            require(bytes.size >= 8) { "file too small to be a bundled program" }
            val identifier = String(bytes, 4, 4, Charsets.US_ASCII)
            require(identifier == FILE_IDENTIFIER) {
                "not an ExecuTorch bundled program (identifier '$identifier', expected '$FILE_IDENTIFIER')"
            }
            return BundledProgram(ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN))
        }
    }
}
