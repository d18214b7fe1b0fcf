/// XML written as the query and REST-XML protocols answer: elements and escaped text only.
struct XMLWriter {
    private(set) var bytes: [UInt8] = Array(#"<?xml version="1.0" encoding="UTF-8"?>"#.utf8)

    mutating func open(_ name: String, xmlns: String? = nil) {
        bytes.append(UInt8(ascii: "<"))
        bytes += name.utf8
        if let xmlns {
            bytes += #" xmlns=""#.utf8
            XMLWriter.escape(xmlns, into: &bytes)
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: ">"))
    }

    mutating func close(_ name: String) {
        bytes += "</".utf8
        bytes += name.utf8
        bytes.append(UInt8(ascii: ">"))
    }

    mutating func text(_ s: String) { XMLWriter.escape(s, into: &bytes) }

    mutating func element(_ name: String, _ text: String) {
        open(name)
        self.text(text)
        close(name)
    }

    /// `&`, `<`, `>`, quotes, and CR (which XML would otherwise turn into LF) as references.
    static func escape(_ s: String, into out: inout [UInt8]) {
        for b in s.utf8 {
            switch b {
            case UInt8(ascii: "&"): out += "&amp;".utf8
            case UInt8(ascii: "<"): out += "&lt;".utf8
            case UInt8(ascii: ">"): out += "&gt;".utf8
            case UInt8(ascii: "\""): out += "&quot;".utf8
            case UInt8(ascii: "'"): out += "&apos;".utf8
            case 0x0D: out += "&#13;".utf8
            default: out.append(b)
            }
        }
    }
}

/// One element of a parsed XML document: its name (prefix dropped), its text, its children.
struct XMLElement: Equatable {
    var name: String
    var text: String = ""
    var children: [XMLElement] = []

    func child(_ name: String) -> XMLElement? { children.first { $0.name == name } }
}

/// A small, strict XML reader for request bodies (S3's `CreateBucketConfiguration`).
///
/// Guarantees: no document type declarations and no entities beyond XML's five and numeric
/// references (so no entity expansion or external fetches); at most 64 levels and 1 MiB; a
/// malformed document is an error naming the byte offset, never a trap.
enum XMLReader {
    struct Failure: Error, Equatable {
        var offset: Int
        var reason: String
    }

    static func parse(_ bytes: [UInt8]) -> Result<XMLElement, Failure> {
        guard bytes.count <= 1 << 20 else { return .failure(Failure(offset: 0, reason: "the document is larger than 1 MiB")) }
        var p = Parser(b: bytes)
        do {
            p.skipMisc()
            guard p.i < bytes.count else { throw Failure(offset: p.i, reason: "the document has no root element") }
            let root = try p.element(depth: 0)
            p.skipMisc()
            guard p.i == bytes.count else { throw Failure(offset: p.i, reason: "content after the root element") }
            return .success(root)
        } catch let f as Failure {
            return .failure(f)
        } catch {
            return .failure(Failure(offset: p.i, reason: "\(error)"))
        }
    }

    private struct Parser {
        let b: [UInt8]
        var i = 0

        func starts(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= b.count && Array(b[i..<(i + u.count)]) == u
        }

        mutating func skipSpace() { while i < b.count, [0x20, 0x09, 0x0A, 0x0D].contains(b[i]) { i += 1 } }

        /// Whitespace, the XML declaration, processing instructions and comments.
        mutating func skipMisc() {
            while true {
                skipSpace()
                if starts("<?") { skip(past: "?>") } else if starts("<!--") { skip(past: "-->") } else { return }
            }
        }

        mutating func skip(past end: String) {
            let u = Array(end.utf8)
            while i < b.count {
                if starts(end) { i += u.count; return }
                i += 1
            }
        }

        mutating func name() throws -> String {
            let start = i
            while i < b.count, !([0x20, 0x09, 0x0A, 0x0D, UInt8(ascii: ">"), UInt8(ascii: "/"), UInt8(ascii: "=")].contains(b[i])) { i += 1 }
            guard i > start, let s = String(validating: b[start..<i], as: UTF8.self) else { throw Failure(offset: start, reason: "expected a name") }
            return s
        }

        mutating func element(depth: Int) throws -> XMLElement {
            guard depth < 64 else { throw Failure(offset: i, reason: "elements nest deeper than 64 levels") }
            guard i < b.count, b[i] == UInt8(ascii: "<") else { throw Failure(offset: i, reason: "expected '<'") }
            if starts("<!DOCTYPE") || starts("<!ENTITY") { throw Failure(offset: i, reason: "document type declarations are not accepted") }
            i += 1
            let qname = try name()
            var element = XMLElement(name: String(qname.split(separator: ":").last ?? Substring(qname)))
            // Attributes (read and dropped: nothing this project reads is an attribute).
            while true {
                skipSpace()
                guard i < b.count else { throw Failure(offset: i, reason: "unterminated start tag <\(qname)>") }
                if starts("/>") { i += 2; return element }
                if b[i] == UInt8(ascii: ">") { i += 1; break }
                _ = try name()
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "=") else { throw Failure(offset: i, reason: "expected '=' in an attribute") }
                i += 1
                skipSpace()
                guard i < b.count, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else { throw Failure(offset: i, reason: "expected a quoted attribute value") }
                let quote = b[i]
                i += 1
                while i < b.count, b[i] != quote { i += 1 }
                guard i < b.count else { throw Failure(offset: i, reason: "unterminated attribute value") }
                i += 1
            }
            var text: [UInt8] = []
            while true {
                guard i < b.count else { throw Failure(offset: i, reason: "element <\(qname)> is not closed") }
                if starts("</") {
                    i += 2
                    let closing = try name()
                    guard closing == qname else { throw Failure(offset: i, reason: "</\(closing)> closes <\(qname)>") }
                    skipSpace()
                    guard i < b.count, b[i] == UInt8(ascii: ">") else { throw Failure(offset: i, reason: "expected '>'") }
                    i += 1
                    guard let s = String(validating: text, as: UTF8.self) else { throw Failure(offset: i, reason: "text is not UTF-8") }
                    element.text = element.children.isEmpty ? s : s.trimmingXMLSpace
                    return element
                }
                if starts("<!--") { skip(past: "-->"); continue }
                if starts("<![CDATA[") {
                    i += 9
                    while i < b.count, !starts("]]>") { text.append(b[i]); i += 1 }
                    guard i < b.count else { throw Failure(offset: i, reason: "unterminated CDATA section") }
                    i += 3
                    continue
                }
                if starts("<?") { skip(past: "?>"); continue }
                if b[i] == UInt8(ascii: "<") {
                    element.children.append(try self.element(depth: depth + 1))
                    continue
                }
                if b[i] == UInt8(ascii: "&") { text += try reference(); continue }
                text.append(b[i])
                i += 1
            }
        }

        mutating func reference() throws -> [UInt8] {
            let start = i
            while i < b.count, b[i] != UInt8(ascii: ";"), i - start < 12 { i += 1 }
            guard i < b.count, b[i] == UInt8(ascii: ";") else { throw Failure(offset: start, reason: "unterminated character reference") }
            let body = String(decoding: b[(start + 1)..<i], as: UTF8.self)
            i += 1
            switch body {
            case "amp": return [UInt8(ascii: "&")]
            case "lt": return [UInt8(ascii: "<")]
            case "gt": return [UInt8(ascii: ">")]
            case "quot": return [UInt8(ascii: "\"")]
            case "apos": return [UInt8(ascii: "'")]
            default:
                var v: UInt32?
                if body.hasPrefix("#x") { v = UInt32(body.dropFirst(2), radix: 16) } else if body.hasPrefix("#") { v = UInt32(body.dropFirst(), radix: 10) }
                guard let v, let scalar = Unicode.Scalar(v) else { throw Failure(offset: start, reason: "unknown entity &\(body); (only XML's five and numeric references)") }
                return Array(String(Character(scalar)).utf8)
            }
        }
    }
}

extension String {
    var trimmingXMLSpace: String {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\n" || c == "\t" || c == "\r" || c == "\r\n" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\n" || c == "\t" || c == "\r" || c == "\r\n" { s = s.dropLast() }
        return String(s)
    }
}
