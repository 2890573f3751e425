/// CRC-32 as in ISO-HDLC / zlib / PNG: reflected polynomial 0xEDB88320, initial value and final XOR
/// 0xFFFFFFFF. Check value: CRC32("123456789") = 0xCBF43926 (the catalogue's test vector).
public enum CRC32 {
  /// Byte-at-a-time lookup table (Sarwate 1988).
  static let table: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = (c & 1) != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  /// Table-driven CRC of `bytes`.
  public static func checksum<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    var crc: UInt32 = 0xFFFF_FFFF
    table.withUnsafeBufferPointer { t in
      for b in bytes { crc = t[Int((crc ^ UInt32(b)) & 0xFF)] ^ (crc >> 8) }
    }
    return crc ^ 0xFFFF_FFFF
  }

  /// Bit-at-a-time definition, the reference the table is checked against.
  public static func checksumReference(_ bytes: [UInt8]) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for b in bytes {
      crc ^= UInt32(b)
      for _ in 0..<8 { crc = (crc & 1) != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
    }
    return crc ^ 0xFFFF_FFFF
  }
}
