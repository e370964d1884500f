/// A host and UDP/TCP port as operators write them: `HOST`, `HOST:PORT`, `[v6]`, `[v6]:PORT`, or a bare
/// IPv6 literal (`::1`, which takes the default port).
public struct NetworkAddress: Sendable, Equatable, CustomStringConvertible {
    public var host: String
    public var port: UInt16

    public init(host: String, port: UInt16) {
        self.host = host
        self.port = port
    }

    /// `host:port`, with brackets around an IPv6 literal.
    public var description: String { host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)" }

    /// An address to listen on (`--prometheus-listen`, `prometheus_listen`): `HOST:PORT` or
    /// `[IPv6]:PORT` as ``parse(_:defaultPort:)`` reads it, with the port required.
    public static func listenAddress(_ text: String) throws(AddressError) -> NetworkAddress {
        let address = try parse(text, defaultPort: 0)
        guard address.port != 0 else { throw AddressError("'\(text)': give HOST:PORT (for example 127.0.0.1:9469; 0.0.0.0:9469 for every interface)") }
        return address
    }

    /// Parses `text`; `defaultPort` applies when none is given. Throws a readable reason (without the
    /// option or file it came from, which the caller adds) for a scheme (`udp://…`), an empty host, a
    /// port that is not a number from 1 to 65535, or characters no host name or address has.
    public static func parse(_ text: String, defaultPort: UInt16) throws(AddressError) -> NetworkAddress {
        if let scheme = text.range(of: "://") {
            throw AddressError("'\(text)': give HOST or HOST:PORT without a scheme ('\(text[..<scheme.lowerBound])://' is not understood here)")
        }
        var host = Substring(text)
        var portText: Substring? = nil
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else { throw AddressError("'\(text)': an IPv6 address in brackets needs its closing ']'") }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            if !rest.isEmpty {
                guard rest.hasPrefix(":") else { throw AddressError("'\(text)': after ']' only ':PORT' may follow") }
                portText = rest.dropFirst()
            }
            guard !host.isEmpty, isIPv6(host) else {
                throw AddressError("'\(text)': '\(host)' is not an IPv6 address")
            }
        } else if text.filter({ $0 == ":" }).count == 1, let colon = text.firstIndex(of: ":") {
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        } else if text.contains(":") {
            // Several colons without brackets: an IPv6 literal on its own.
            guard isIPv6(host) else {
                throw AddressError("'\(text)': an IPv6 address with a port is written [ADDRESS]:PORT")
            }
        }
        guard !host.isEmpty else { throw AddressError("'\(text)': the host is missing") }
        if !text.hasPrefix("[") && !text.contains("::") && text.filter({ $0 == ":" }).count <= 1 {
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "." || $0 == "_") }) else {
                throw AddressError("'\(text)': '\(host)' is not a host name or address")
            }
        }
        var port = defaultPort
        if let portText {
            guard let p = UInt16(portText), p > 0 else {
                throw AddressError("'\(text)': the port '\(portText)' is not a number from 1 to 65535")
            }
            port = p
        }
        return NetworkAddress(host: String(host), port: port)
    }
}

/// Hex digits, colons and dots, then optionally `%` and a zone (an interface name).
private func isIPv6(_ text: Substring) -> Bool {
    let parts = text.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
    guard let address = parts.first, address.contains(":"),
          address.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else { return false }
    return parts.count == 1 || (!parts[1].isEmpty && parts[1].allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
}

/// Why an address could not be read.
public struct AddressError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
