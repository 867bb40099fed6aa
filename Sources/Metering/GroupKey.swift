import Core

/// The canonical text of a reading's dimension values, so equal groups are equal keys in every
/// store: `{"model":"small","region":"eu"}` with names sorted and JSON escaping; `{}` for none.
public enum GroupKey {
    public static func encode(_ dimensions: [String: String]) -> String {
        var out = "{"
        for (index, name) in dimensions.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            JSONString.append(name, to: &out)
            out += ":"
            JSONString.append(dimensions[name]!, to: &out)
        }
        return out + "}"
    }

    /// The dimensions back from a key made by `encode`; `nil` for any other text.
    public static func decode(_ key: String) -> [String: String]? {
        var scalars = Array(key.unicodeScalars)[...]
        guard scalars.popFirst() == "{", scalars.popLast() == "}" else { return nil }
        var result: [String: String] = [:]
        while !scalars.isEmpty {
            guard let name = readString(&scalars), scalars.popFirst() == ":", let value = readString(&scalars) else { return nil }
            result[name] = value
            if let next = scalars.first {
                guard next == ",", scalars.count > 1 else { return nil }
                scalars.removeFirst()
            }
        }
        return result
    }

    private static func readString(_ scalars: inout ArraySlice<Unicode.Scalar>) -> String? {
        guard scalars.popFirst() == "\"" else { return nil }
        var out = String.UnicodeScalarView()
        while let scalar = scalars.popFirst() {
            switch scalar {
            case "\"": return String(out)
            case "\\":
                guard let escaped = scalars.popFirst() else { return nil }
                switch escaped {
                case "\"", "\\": out.append(escaped)
                case "n": out.append("\n")
                case "r": out.append("\r")
                case "t": out.append("\t")
                case "u":
                    guard scalars.count >= 4, let value = UInt32(String(String.UnicodeScalarView(scalars.prefix(4))), radix: 16),
                          let decoded = Unicode.Scalar(value) else { return nil }
                    out.append(decoded)
                    scalars.removeFirst(4)
                default: return nil
                }
            default: out.append(scalar)
            }
        }
        return nil
    }
}
