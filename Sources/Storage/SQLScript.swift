/// Splits a migration file into single statements, because both drivers prepare one statement
/// at a time. Semicolons inside quotes, comments, Postgres dollar-quoted bodies and SQLite
/// `CREATE TRIGGER … BEGIN … END` bodies do not split.
public enum SQLScript {
    /// The statements of `script`, trimmed, without empty ones.
    public static func statements(_ script: String) -> [String] {
        let chars = Array(script.unicodeScalars)
        var statements: [String] = []
        var current = String.UnicodeScalarView()
        var index = 0
        var triggerDepth = 0  // > 0 while inside a trigger's BEGIN … END
        var word = ""  // the identifier being read, to spot BEGIN/END/CASE

        func flushWord() {
            let upper = word.uppercased()
            if upper == "BEGIN" || upper == "CASE", isTrigger(current) { triggerDepth += 1 }
            if upper == "END", triggerDepth > 0 { triggerDepth -= 1 }
            word = ""
        }

        while index < chars.count {
            let c = chars[index]
            let next: Unicode.Scalar? = index + 1 < chars.count ? chars[index + 1] : nil
            if c == "-" && next == "-" {  // line comment: dropped
                flushWord()
                while index < chars.count && chars[index] != "\n" { index += 1 }
                continue
            }
            if c == "/" && next == "*" {  // block comment: dropped
                flushWord()
                index += 2
                while index + 1 < chars.count && !(chars[index] == "*" && chars[index + 1] == "/") { index += 1 }
                index += 2
                continue
            }
            if c == "'" || c == "\"" {  // quoted text or identifier, with doubled-quote escapes
                flushWord()
                current.append(c)
                index += 1
                while index < chars.count {
                    current.append(chars[index])
                    if chars[index] == c {
                        if index + 1 < chars.count && chars[index + 1] == c {
                            current.append(c)
                            index += 2
                            continue
                        }
                        break
                    }
                    index += 1
                }
                index += 1
                continue
            }
            if c == "$", let tagEnd = dollarTagEnd(chars, from: index) {  // $tag$ … $tag$
                flushWord()
                let tag = chars[index...tagEnd]
                current.append(contentsOf: tag)
                index = tagEnd + 1
                while index < chars.count {
                    if chars[index] == "$", index + tag.count <= chars.count, chars[index..<(index + tag.count)].elementsEqual(tag) {
                        current.append(contentsOf: tag)
                        index += tag.count
                        break
                    }
                    current.append(chars[index])
                    index += 1
                }
                continue
            }
            if c.properties.isAlphabetic || c == "_" {
                word.unicodeScalars.append(c)
            } else {
                flushWord()
            }
            if c == ";" && triggerDepth == 0 {
                append(current, to: &statements)
                current = String.UnicodeScalarView()
                index += 1
                continue
            }
            current.append(c)
            index += 1
        }
        flushWord()
        append(current, to: &statements)
        return statements
    }

    private static func append(_ scalars: String.UnicodeScalarView, to statements: inout [String]) {
        let text = String(scalars).trimmingCharacters(in: { $0.properties.isWhitespace })
        if !text.isEmpty { statements.append(text) }
    }

    private static func isTrigger(_ scalars: String.UnicodeScalarView) -> Bool {
        let words = String(scalars).uppercased().split(whereSeparator: { !$0.isLetter }).prefix(4)
        return words.starts(with: ["CREATE", "TRIGGER"]) || words.starts(with: ["CREATE", "TEMP", "TRIGGER"])
            || words.starts(with: ["CREATE", "TEMPORARY", "TRIGGER"])
    }

    /// The index of the closing `$` of a dollar-quote tag opening at `start`, if one opens there.
    private static func dollarTagEnd(_ chars: [Unicode.Scalar], from start: Int) -> Int? {
        var index = start + 1
        while index < chars.count {
            let c = chars[index]
            if c == "$" { return index }
            guard c.properties.isAlphabetic || c == "_" || (index > start + 1 && ("0"..."9").contains(c)) else { return nil }
            index += 1
        }
        return nil
    }
}

extension String {
    func trimmingCharacters(in predicate: (Unicode.Scalar) -> Bool) -> String {
        var scalars = Substring(self).unicodeScalars[...]
        while let first = scalars.first, predicate(first) { scalars.removeFirst() }
        while let last = scalars.last, predicate(last) { scalars.removeLast() }
        return String(String.UnicodeScalarView(scalars))
    }
}
