#if canImport(Glibc)
import Glibc
#endif
import RealmMetricsCore

/// Connected sockets to a receiver named by host and port: the one place the sinks resolve an address
/// and connect to it.
enum Socket {
    /// What to connect with.
    enum Kind: Sendable, Equatable {
        /// UDP (`SOCK_DGRAM`), left non-blocking. `connect(2)` only fixes the peer, and makes the
        /// socket hear back: when nothing listens there, the kernel's "port unreachable" makes a later
        /// `send(2)` fail with `ECONNREFUSED`.
        case udp
        /// TCP (`SOCK_STREAM`): a non-blocking `connect(2)` waited for with `poll(2)` up to `timeout`
        /// seconds, then blocking, with every send bounded by the same timeout (`SO_SNDTIMEO`). The
        /// timeout is more than 0 (0 would make sends wait forever) and less than 2,000,000 s (poll's
        /// milliseconds are an `Int32`): the options that set it check their range.
        case tcp(timeout: Double)
    }

    /// Why no connected socket could be made.
    struct Failure: Error, Equatable, Sendable, CustomStringConvertible {
        enum Code: Sendable, Equatable {
            /// `getaddrinfo(3)` failed: `cannot resolve HOST: reason`.
            case resolve
            /// `socket(2)` failed: `socket: reason`.
            case socket
            /// `connect(2)` failed, at once or while waited for: `cannot connect to HOST:PORT: reason`.
            case connect
            /// A TCP connection was not accepted within the timeout:
            /// `HOST:PORT did not accept the connection within N s`.
            case timeout
        }
        let code: Code
        let description: String
    }

    /// A socket of `kind` connected to the first address `getaddrinfo(3)` gives for `host` and `port`
    /// (`socket(2)` with `SOCK_CLOEXEC`, `connect(2)`; for TCP also `poll(2)`, `fcntl(2)` and
    /// `setsockopt(SO_SNDTIMEO)`). Returns the descriptor, which the caller closes; throws a
    /// ``Failure`` whose text names the host (`[v6]:PORT` for an IPv6 literal) and the reason, and
    /// leaves no descriptor open.
    static func connect(host: String, port: UInt16, kind: Kind) throws(Failure) -> Int32 {
        let type = kind == .udp ? SOCK_DGRAM : SOCK_STREAM
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(type.rawValue)
        var result: UnsafeMutablePointer<addrinfo>? = nil
        let rc = getaddrinfo(host, String(port), &hints, &result)
        guard rc == 0, let info = result else {
            throw Failure(code: .resolve, description: "cannot resolve \(host): \(String(cString: gai_strerror(rc)))")
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, Int32(type.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(code: .socket, description: "socket: \(errnoText(errno))") }
        let target = NetworkAddress(host: host, port: port).description
        func fail(_ code: Failure.Code, _ description: String) -> Failure {
            close(fd)
            return Failure(code: code, description: description)
        }
        var reason: Int32 = Glibc.connect(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 ? 0 : errno
        if case let .tcp(timeout) = kind, reason == EINPROGRESS {
            var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let ready = SystemCall.retrying { poll(&pfd, 1, Int32(timeout * 1000)) }
            if ready == 0 { throw fail(.timeout, "\(target) did not accept the connection within \(formatSeconds(timeout)) s") }
            if ready < 0 {
                reason = errno
            } else {
                // Writable: connected, or refused; SO_ERROR says which.
                var length = socklen_t(MemoryLayout<Int32>.size)
                reason = 0
                getsockopt(fd, SOL_SOCKET, SO_ERROR, &reason, &length)
            }
        }
        if reason != 0 { throw fail(.connect, "cannot connect to \(target): \(errnoText(reason))") }
        if case let .tcp(timeout) = kind {
            // Blocking from here on, each send bounded by the timeout.
            _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
            var tv = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
            setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        }
        return fd
    }
}
