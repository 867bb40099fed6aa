import Core
import Foundation
import Testing

@Suite struct JSONParserTests {
    func parse(_ text: String) -> JSONValue? { try? JSONParser.parse(Array(text.utf8)) }

    @Test func valuesAsFoundationReadsThem() throws {
        let corpus = [
            #"{"specversion":"1.0","id":"e1","data":{"tokens":12.5,"nested":[1,-2,3e2,0.1,true,false,null]}}"#,
            #"[]"#, #"{}"#, #"  [ 1 , 2 ]  "#, #""plain""#, #""esc \" \\ \/ \b \f \n \r \t \u00e9 \ud83d\ude00""#,
            #"-0"#, #"0.000001"#, #"123456789012345678"#, #"1E+2"#, #"1e-7"#, #"{"a":1,"a":2}"#, "\"caf\u{e9} \u{1F600}\"",
            #"9007199254740993"#, #"0.30000000000000004"#,
            // Objects inside objects and arrays, keys repeated at one level and across levels: each
            // object keeps its own members, the first of a repeated key.
            #"{"a":{"a":1,"b":{"a":[{"a":2,"a":3,"a":4},{},{"b":true}]}},"a":5,"c":{"d":1},"c":[],"e":{"f":{"g":{}}}}"#,
            #"[{"x":1},{"x":2,"y":{"x":3}},{"y":4,"x":5,"x":6}]"#,
        ]
        for text in corpus {
            let ours = try JSONParser.parse(Array(text.utf8))
            let foundation = try JSONDecoder().decode(JSONValue.self, from: Data(text.utf8))
            #expect(ours == foundation, "\(text)")
        }
    }

    @Test func invalidJSONIsRefused() throws {
        let bad = [
            "", " ", "{", "[1,]", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "01", "1.", ".5", "-", "+1", "1e", "1e+", "0x10", "NaN", "Infinity",
            "tru", "nul", "\"open", "\"tab\there\"", "\"\\x\"", "\"\\u12\"", "\"\\ud800\"", "\"\\udc00\"", "\"\\ud800\\u0041\"",
            "[1] 2", "// comment\n1", "{\"a\":1}}", "1e400", "\u{FEFF}1",
        ]
        for text in bad {
            #expect(parse(text) == nil, "accepted \(text.debugDescription)")
        }
        #expect((try? JSONParser.parse([0x22, 0xFF, 0x22])) == nil)  // invalid UTF-8
        // ASCII strings skip validation; one invalid byte after an ASCII prefix, a lone
        // continuation byte, a truncated sequence and an overlong encoding are still refused.
        for invalid: [UInt8] in [[0x61, 0x62, 0xFF], [0x61, 0x80], [0x7F, 0xC3], [0xC0, 0xAF], [0xE2, 0x82]] {
            #expect((try? JSONParser.parse([0x22] + invalid + [0x22])) == nil, "\(invalid)")
            #expect((try? JSONParser.parse(Array(#"{"id":""#.utf8) + invalid + Array(#""}"#.utf8))) == nil, "\(invalid)")
        }
        #expect(try JSONParser.parse([0x22, 0x61, 0x7F, 0x22]) == .string("a\u{7F}"))
        #expect(try JSONParser.parse(Array("\"z\u{FC}rich \u{1F600}\"".utf8)) == .string("z\u{FC}rich \u{1F600}"))
        let deep = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
        #expect(parse(deep) == nil)
        let fine = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        #expect(parse(fine) != nil)
    }

    @Test func errorsSayWhere() {
        do {
            _ = try JSONParser.parse(Array(#"{"a": tru}"#.utf8))
            Issue.record("accepted")
        } catch {
            #expect(error.offset == 6)
        }
    }

    @Test func writerOutputParsesBackToTheSameValue() throws {
        var generator = SystemRandomNumberGenerator()
        func random(_ depth: Int) -> JSONValue {
            switch Int.random(in: 0..<(depth > 3 ? 4 : 6), using: &generator) {
            case 0: return .null
            case 1: return .bool(Bool.random(using: &generator))
            case 2:
                let choices: [Double] = [0, -1, 1e21, 1e-7, 0.1, 123456.789, -9007199254740992, Double.random(in: -1e9...1e9, using: &generator), .leastNonzeroMagnitude]
                return .number(choices.randomElement(using: &generator)!)
            case 3:
                let pieces = ["a", "\"", "\\", "\n", "\u{01}", "é", "😀", "/", "\u{7F}", " "]
                return .string((0..<Int.random(in: 0...6, using: &generator)).map { _ in pieces.randomElement(using: &generator)! }.joined())
            case 4: return .array((0..<Int.random(in: 0...4, using: &generator)).map { _ in random(depth + 1) })
            default:
                var members: [String: JSONValue] = [:]
                for index in 0..<Int.random(in: 0...4, using: &generator) { members["k\(index)\u{e9}"] = random(depth + 1) }
                return .object(members)
            }
        }
        for _ in 0..<500 {
            let value = random(0)
            let bytes = JSONWriter.encode(value)
            #expect(try JSONParser.parse(bytes) == value)
            // Foundation agrees with what we wrote.
            #expect(try JSONDecoder().decode(JSONValue.self, from: Data(bytes)) == value)
        }
    }

    @Test func writerFormsNumbersAndSortsKeys() {
        #expect(String(decoding: JSONWriter.encode(["b": 1, "a": [1.5, -0.0, 1e21, nil, true]]), as: UTF8.self) == #"{"a":[1.5,0,1e+21,null,true],"b":1}"#)
        #expect(String(decoding: JSONWriter.encode(.string("q\"\\\n\u{1}")), as: UTF8.self) == #""q\"\\\n\u0001""#)
    }
}
