import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import RealmMetricsCore

/// The page `GET /metrics` serves: the main loop publishes a new one at each flush
/// (``publish(_:)``), the endpoint's event loop reads the latest. The only thing the two threads
/// share, behind one lock taken once per flush and once per request; the lines' path never touches it.
final class MetricsPage: Sendable {
    private let body = NIOLockedValueBox<ByteBuffer?>(nil)

    func publish(_ text: String) {
        let buffer = ByteBuffer(string: text)
        body.withLockedValue { $0 = buffer }
    }

    /// The latest page; nil before the first was published.
    var current: ByteBuffer? { body.withLockedValue { $0 } }
}

/// An HTTP/1.1 server on its own event loop thread (swift-nio: `ServerBootstrap`, `NIOHTTP1`'s
/// server pipeline) answering `GET /metrics` (also `HEAD`) with the latest ``MetricsPage`` in the
/// Prometheus text format, `GET /` with a pointer to it, 404 and 405 otherwise.
///
/// Against slow or hostile clients: a request must arrive whole within ``Limits/requestSeconds`` of
/// the connection's start or of the last response (a slowloris trickle is cut there); a request
/// head over NIOHTTP1's limit (80 KiB) gets 400, a body over ``Limits/maxBodyBytes`` 413, and either
/// closes the connection; bodies are never kept; at most ``Limits/maxConnections`` connections are open
/// (more are closed at once); a pipelined request waits for the response before it (NIO's pipelining
/// handler stops reading meanwhile), so a client that does not read cannot make the server buffer
/// more than one page for it. None of this runs on the main loop.
final class MetricsEndpoint {
    struct Limits: Sendable {
        var requestSeconds: Double = 10
        var maxBodyBytes = 65_536
        var maxConnections = 64
    }

    let page: MetricsPage
    let host: String
    /// The port listened on (the one asked for, or the one the kernel chose for port 0).
    let port: Int
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let stats: EndpointStats

    /// Listens on `host`:`port` (`bind(2)` and `listen(2)` through NIO's `ServerBootstrap`); an
    /// address that cannot be bound is an error naming it.
    init(host: String, port: Int, page: MetricsPage, limits: Limits = Limits()) throws(RealmMetricsError) {
        self.page = page
        self.host = host
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let stats = EndpointStats()
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 64)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 4)
            .childChannelInitializer { channel in
                guard stats.open() <= limits.maxConnections else {
                    stats.close()
                    stats.refused.add(1)
                    return channel.close()
                }
                channel.closeFuture.whenComplete { _ in stats.close() }
                // Built on the channel's own event loop: the handlers never cross threads.
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsRequestHandler(page: page, limits: limits, stats: stats))
                }
            }
        do {
            channel = try bootstrap.bind(host: host, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw RealmMetricsError(.usage, "--prometheus-listen \(NetworkAddress(host: host, port: UInt16(clamping: port))): cannot listen there: \(error)")
        }
        self.group = group
        self.stats = stats
        self.port = channel.localAddress?.port ?? port
    }

    /// Requests answered (any status), for the own metrics.
    var requests: Int64 { Int64(stats.requests.load()) }
    /// Connections closed at once because ``Limits/maxConnections`` were open.
    var refusedConnections: Int64 { Int64(stats.refused.load()) }

    /// Stops listening, closes every connection and ends the event loop thread.
    func shutdown() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    deinit { try? group.syncShutdownGracefully() }
}

/// Counts shared by the endpoint's connections (they all run on its one event loop; the main loop
/// reads the counts at its flushes).
final class EndpointStats: Sendable {
    private let connections = NIOLockedValueBox(0)
    let requests = LockedCounter()
    let refused = LockedCounter()

    /// One more connection; returns how many are open with it.
    func open() -> Int { connections.withLockedValue { $0 += 1; return $0 } }
    func close() { connections.withLockedValue { $0 -= 1 } }
}

/// A counter two threads may touch.
final class LockedCounter: Sendable {
    private let value = NIOLockedValueBox<Int>(0)
    func add(_ n: Int) { value.withLockedValue { $0 += n } }
    func load() -> Int { value.withLockedValue { $0 } }
}

/// One connection: answers each request once it is whole, keeps no body, and closes a connection
/// whose next request takes longer than the limit to arrive.
final class MetricsRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let page: MetricsPage
    let limits: MetricsEndpoint.Limits
    let stats: EndpointStats
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    private var deadline: Scheduled<Void>?

    init(page: MetricsPage, limits: MetricsEndpoint.Limits, stats: EndpointStats) {
        self.page = page
        self.limits = limits
        self.stats = stats
    }

    func handlerAdded(context: ChannelHandlerContext) { armDeadline(context) }

    func handlerRemoved(context: ChannelHandlerContext) { deadline?.cancel() }

    /// The next request must be whole (or the response taken) within the limit, or the connection is
    /// closed.
    private func armDeadline(_ context: ChannelHandlerContext) {
        deadline?.cancel()
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: .milliseconds(Int64(limits.requestSeconds * 1000))) {
            loopBound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case let .head(request):
            head = request
            bodyBytes = 0
        case let .body(buffer):
            bodyBytes += buffer.readableBytes
            if bodyBytes > limits.maxBodyBytes, head != nil {
                head = nil
                respond(context, status: .payloadTooLarge, body: "request body too large\n", keepAlive: false)
            }
        case .end:
            guard let request = head else { return }
            head = nil
            // The response must be taken within the limit too (a client that does not read).
            armDeadline(context)
            answer(context, request)
        }
    }

    private func answer(_ context: ChannelHandlerContext, _ request: HTTPRequestHead) {
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        let keepAlive = request.isKeepAlive
        guard request.method == .GET || request.method == .HEAD else {
            respond(context, status: .methodNotAllowed, body: "only GET and HEAD\n", keepAlive: keepAlive, extra: [("Allow", "GET, HEAD")])
            return
        }
        switch path {
        case "/metrics":
            guard let body = page.current else {
                respond(context, status: .serviceUnavailable, body: "starting: no flush yet\n", keepAlive: keepAlive)
                return
            }
            respond(context, status: .ok, body: body, keepAlive: keepAlive, headOnly: request.method == .HEAD,
                    contentType: "text/plain; version=0.0.4; charset=utf-8")
        case "/":
            respond(context, status: .ok, body: "realm-metrics: the metrics are at /metrics\n", keepAlive: keepAlive, headOnly: request.method == .HEAD)
        default:
            respond(context, status: .notFound, body: "not found: the metrics are at /metrics\n", keepAlive: keepAlive)
        }
    }

    private func respond(_ context: ChannelHandlerContext, status: HTTPResponseStatus, body: String, keepAlive: Bool, headOnly: Bool = false,
                         extra: [(String, String)] = []) {
        respond(context, status: status, body: ByteBuffer(string: body), keepAlive: keepAlive, headOnly: headOnly, extra: extra)
    }

    private func respond(_ context: ChannelHandlerContext, status: HTTPResponseStatus, body: ByteBuffer, keepAlive: Bool, headOnly: Bool = false,
                         contentType: String = "text/plain; charset=utf-8", extra: [(String, String)] = []) {
        stats.requests.add(1)
        var headers = HTTPHeaders([("Content-Type", contentType), ("Content-Length", String(body.readableBytes))] + extra)
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
        if !headOnly { context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
            let (handler, context) = bound.value
            if keepAlive {
                handler.armDeadline(context)
            } else {
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
