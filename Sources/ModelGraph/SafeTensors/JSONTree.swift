/// A small, strict JSON parser (RFC 8259) that keeps object keys in file order and reports duplicate
/// keys, which Foundation's `JSONSerialization` silently drops. Used for safetensors headers and the
/// Hugging Face `config.json` / `tokenizer.json` files. Every read is bounds-checked.
public enum JSONTree: Sendable, Equatable {
  case null
  case bool(Bool)
  /// The number's text as written, so that 64-bit integers keep every digit.
  case number(String)
  case string(String)
  case array([JSONTree])
  /// Key/value pairs in file order (duplicates are kept; `duplicateKey` finds them).
  case object([(String, JSONTree)])

  public static func == (lhs: JSONTree, rhs: JSONTree) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.number(let a), .number(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.array(let a), .array(let b)): return a == b
    case (.object(let a), .object(let b)):
      return a.count == b.count && zip(a, b).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
    default: return false
    }
  }

  /// A parse failure: byte offset into the text and what was expected there.
  public struct ParseError: Error, Equatable, CustomStringConvertible {
    public var offset: Int
    public var expected: String
    public var found: String
    public var description: String { "byte \(offset): expected \(expected), found \(found)" }
  }

  public static func parse(_ text: String) throws(ParseError) -> JSONTree {
    try parse(Array(text.utf8))
  }

  public static func parse(_ bytes: [UInt8]) throws(ParseError) -> JSONTree {
    var parser = JSONTreeParser(bytes: bytes)
    parser.skipSpace()
    let value = try parser.value(depth: 0)
    parser.skipSpace()
    if parser.index < bytes.count { throw parser.error("end of JSON text") }
    return value
  }

  // MARK: Accessors (nil when the value has another type)

  public subscript(key: String) -> JSONTree? {
    guard case .object(let pairs) = self else { return nil }
    return pairs.last { $0.0 == key }?.1
  }

  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  public var boolValue: Bool? {
    if case .bool(let b) = self { return b }
    return nil
  }

  /// The number as an integer when its text is an integer literal that fits in `Int`.
  public var intValue: Int? {
    if case .number(let text) = self { return Int(text) }
    return nil
  }

  public var doubleValue: Double? {
    if case .number(let text) = self { return Double(text) }
    return nil
  }

  public var arrayValue: [JSONTree]? {
    if case .array(let a) = self { return a }
    return nil
  }

  public var objectValue: [(String, JSONTree)]? {
    if case .object(let o) = self { return o }
    return nil
  }

  /// A short description of the value's kind, for error messages.
  public var kindName: String {
    switch self {
    case .null: return "null"
    case .bool: return "a boolean"
    case .number(let text): return "the number \(text)"
    case .string(let s): return "the string \"\(s.prefix(40))\""
    case .array: return "an array"
    case .object: return "an object"
    }
  }

  /// The first key that occurs twice in an object of this value (not searched recursively).
  public var duplicateKey: String? {
    guard case .object(let pairs) = self else { return nil }
    var seen = Set<String>()
    for (key, _) in pairs where !seen.insert(key).inserted { return key }
    return nil
  }
}

/// Recursive-descent parser state over UTF-8 bytes.
struct JSONTreeParser {
  let bytes: [UInt8]
  var index = 0
  static let maxDepth = 512

  init(bytes: [UInt8]) { self.bytes = bytes }

  func error(_ expected: String) -> JSONTree.ParseError {
    let found =
      index < bytes.count
      ? "'\(String(decoding: bytes[index..<min(index + 12, bytes.count)], as: UTF8.self))'"
      : "end of input"
    return JSONTree.ParseError(offset: index, expected: expected, found: found)
  }

  mutating func skipSpace() {
    while index < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[index]) { index += 1 }
  }

  mutating func value(depth: Int) throws(JSONTree.ParseError) -> JSONTree {
    guard depth < Self.maxDepth else { throw error("nesting depth below \(Self.maxDepth)") }
    guard index < bytes.count else { throw error("a JSON value") }
    switch bytes[index] {
    case UInt8(ascii: "{"): return try object(depth: depth)
    case UInt8(ascii: "["): return try array(depth: depth)
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    default: return try number()
    }
  }

  mutating func literal(_ word: String) throws(JSONTree.ParseError) {
    let w = Array(word.utf8)
    guard index + w.count <= bytes.count, Array(bytes[index..<index + w.count]) == w else {
      throw error("a JSON value")
    }
    index += w.count
  }

  mutating func object(depth: Int) throws(JSONTree.ParseError) -> JSONTree {
    index += 1
    var pairs: [(String, JSONTree)] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "}") {
      index += 1
      return .object(pairs)
    }
    while true {
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: "\"") else { throw error("a string key") }
      let key = try string()
      skipSpace()
      guard index < bytes.count, bytes[index] == UInt8(ascii: ":") else { throw error("':'") }
      index += 1
      skipSpace()
      pairs.append((key, try value(depth: depth + 1)))
      skipSpace()
      guard index < bytes.count else { throw error("',' or '}'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
      } else if bytes[index] == UInt8(ascii: "}") {
        index += 1
        return .object(pairs)
      } else {
        throw error("',' or '}'")
      }
    }
  }

  mutating func array(depth: Int) throws(JSONTree.ParseError) -> JSONTree {
    index += 1
    var items: [JSONTree] = []
    skipSpace()
    if index < bytes.count, bytes[index] == UInt8(ascii: "]") {
      index += 1
      return .array(items)
    }
    while true {
      skipSpace()
      items.append(try value(depth: depth + 1))
      skipSpace()
      guard index < bytes.count else { throw error("',' or ']'") }
      if bytes[index] == UInt8(ascii: ",") {
        index += 1
      } else if bytes[index] == UInt8(ascii: "]") {
        index += 1
        return .array(items)
      } else {
        throw error("',' or ']'")
      }
    }
  }

  mutating func number() throws(JSONTree.ParseError) -> JSONTree {
    let start = index
    func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
    if index < bytes.count, bytes[index] == UInt8(ascii: "-") { index += 1 }
    let intStart = index
    while index < bytes.count, isDigit(bytes[index]) { index += 1 }
    guard index > intStart else { index = start; throw error("a JSON value") }
    if index - intStart > 1, bytes[intStart] == UInt8(ascii: "0") { throw error("no leading zero") }
    if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
      index += 1
      let fracStart = index
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
      guard index > fracStart else { throw error("a digit after '.'") }
    }
    if index < bytes.count, bytes[index] == UInt8(ascii: "e") || bytes[index] == UInt8(ascii: "E") {
      index += 1
      if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
        index += 1
      }
      let expStart = index
      while index < bytes.count, isDigit(bytes[index]) { index += 1 }
      guard index > expStart else { throw error("a digit in the exponent") }
    }
    return .number(String(decoding: bytes[start..<index], as: UTF8.self))
  }

  mutating func hex4() throws(JSONTree.ParseError) -> UInt32 {
    guard index + 4 <= bytes.count else { throw error("4 hex digits") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let b = bytes[index]
      let d: UInt32
      switch b {
      case 0x30...0x39: d = UInt32(b - 0x30)
      case 0x41...0x46: d = UInt32(b - 0x41 + 10)
      case 0x61...0x66: d = UInt32(b - 0x61 + 10)
      default: throw error("a hex digit")
      }
      v = v * 16 + d
      index += 1
    }
    return v
  }

  mutating func string() throws(JSONTree.ParseError) -> String {
    index += 1  // opening quote
    var out: [UInt8] = []
    while true {
      guard index < bytes.count else { throw error("closing '\"'") }
      let b = bytes[index]
      if b == UInt8(ascii: "\"") {
        index += 1
        break
      }
      if b < 0x20 { throw error("no raw control character in a string") }
      if b != UInt8(ascii: "\\") {
        out.append(b)
        index += 1
        continue
      }
      index += 1
      guard index < bytes.count else { throw error("an escape character") }
      let e = bytes[index]
      index += 1
      switch e {
      case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
      case UInt8(ascii: "b"): out.append(0x08)
      case UInt8(ascii: "f"): out.append(0x0C)
      case UInt8(ascii: "n"): out.append(0x0A)
      case UInt8(ascii: "r"): out.append(0x0D)
      case UInt8(ascii: "t"): out.append(0x09)
      case UInt8(ascii: "u"):
        var scalar = try hex4()
        if scalar >= 0xD800 && scalar < 0xDC00 {  // high surrogate: a low one must follow
          guard index + 2 <= bytes.count, bytes[index] == UInt8(ascii: "\\"),
            bytes[index + 1] == UInt8(ascii: "u")
          else { throw error("a low surrogate escape") }
          index += 2
          let low = try hex4()
          guard low >= 0xDC00 && low < 0xE000 else { throw error("a low surrogate") }
          scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
        }
        guard let u = Unicode.Scalar(scalar) else { throw error("a valid Unicode scalar") }
        out.append(contentsOf: Array(String(Character(u)).utf8))
      default:
        index -= 1
        throw error("a valid escape")
      }
    }
    guard let s = String(validating: out, as: UTF8.self) else {
      throw error("valid UTF-8 in a string")
    }
    return s
  }
}

extension JSONTree {
  /// Compact JSON text of a string (quotes and escapes per RFC 8259 §7), as serde_json writes it.
  public static func quoted(_ s: String) -> String {
    var out = "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case "\u{08}": out += "\\b"
      case "\u{0C}": out += "\\f"
      default:
        if u.value < 0x20 {
          let hex = String(u.value, radix: 16)
          out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
        } else {
          out.unicodeScalars.append(u)
        }
      }
    }
    return out + "\""
  }
}
