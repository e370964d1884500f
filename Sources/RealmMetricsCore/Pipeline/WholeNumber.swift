/// Whole numbers written in decimal digits, as captured amounts and journal fields carry them.
public enum WholeNumber {
    /// The value of 1 to 18 ASCII digits (no sign, no spaces), or nil: 18 digits cannot overflow.
    @inline(__always)
    public static func parse(_ bytes: UnsafeRawBufferPointer) -> Int64? {
        guard !bytes.isEmpty, bytes.count <= 18 else { return nil }
        var v: Int64 = 0
        for d in bytes {
            guard d >= 0x30 && d <= 0x39 else { return nil }
            v = v * 10 + Int64(d - 0x30)
        }
        return v
    }
}
