/// The report as one self-contained HTML page: inline CSS, charts as inline SVG drawn here, the data
/// section (``ReportData/json``) in a `<script type="application/json" id="report-data">` element on
/// lines of its own, and a small inline script for the hover and click read-outs. The page loads
/// nothing (its Content-Security-Policy allows no source but its own inline style and script), and
/// every text that comes from the input is escaped (``html(_:)``, ``JSONText/string(_:)``).
public enum ReportPage {
    /// Chart geometry (SVG user units).
    static let width = 1100.0, height = 150.0, left = 72.0, right = 16.0, top = 28.0, bottom = 24.0
    static var plotWidth: Double { width - left - right }
    static var plotHeight: Double { height - top - bottom }
    static let palette = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]

    /// `text` with `&`, `<`, `>`, `"` and `'` as character references: safe in element content and in
    /// quoted attribute values.
    public static func html(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for c in text.unicodeScalars {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.unicodeScalars.append(c)
            }
        }
        return out
    }

    /// The page for `data`; `title` names the input (file names or the journal).
    public static func render(_ data: ReportData, title: String) -> String {
        var out = """
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8">
            <meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>realm-metrics report: \(html(title))</title>
            <style>\(style)</style>
            </head><body>
            <header><h1>realm-metrics report</h1><p class="meta">\(html(title))</p>

            """
        out += "<p class=\"meta\">\(html(summaryLine(data)))</p>\n"
        let sections = (data.timeline != nil ? [("gauges", "Gauges"), ("counters", "Counters"), ("distributions", "Timers and histograms")] : [])
            + [("totals", "Totals"), ("workers", "Workers"), ("unmatched", "Unmatched lines")]
        out += "<nav>" + sections.map { "<a href=\"#\($0.0)\">\($0.1)</a>" }.joined(separator: " · ") + "</nav></header>\n"
        out += "<div id=\"tip\" hidden></div>\n"
        if let t = data.timeline {
            out += "<section id=\"details\"><h2>Bucket</h2><p id=\"details-hint\">Hover over a chart to read a bucket; click to list all its values here.</p><table id=\"details-table\"></table></section>\n"
            out += timelineSections(t)
        } else {
            out += "<section><h2>Time line</h2><p>The lines carry no time stamp (or none was inside the window): there is no time line, only the totals below.</p></section>\n"
        }
        out += tables(data)
        out += "<script type=\"application/json\" id=\"report-data\">\n" + data.json + "</script>\n"
        out += "<script>\(script)</script>\n</body></html>\n"
        return out
    }

    static func summaryLine(_ data: ReportData) -> String {
        var parts = ["\(data.lines.linesRead) lines", "\(data.lines.matched) matched", "\(data.lines.ignored) ignored",
                     "\(data.lines.unmatched) unmatched", "\(data.lines.envelopeMismatch) outside the layout"]
        if let t = data.timeline {
            parts.append("from \(formatUTC(t.start * 1000)) to \(formatUTC((t.start + Int64(t.count) * t.bucketSeconds) * 1000))")
            parts.append(t.bucketSeconds == t.baseSeconds
                ? "buckets of \(t.bucketSeconds) s"
                : "buckets of \(t.baseSeconds) s merged to \(t.bucketSeconds) s (the smallest multiple giving at most \(ReportData.maxBuckets) buckets)")
        }
        return parts.joined(separator: " · ")
    }

    // MARK: charts

    struct Line {
        var label: String
        var values: [Int64?]
        var color: String
    }

    static func timelineSections(_ t: ReportTimeline) -> String {
        var out = ""
        let movedGauges = t.gauges.filter { g in g.host.contains { ($0 ?? 0) != 0 } }
        let flat = t.gauges.filter { g in !g.host.contains { ($0 ?? 0) != 0 } }.map(\.name)
        out += "<section id=\"gauges\"><h2>Gauges</h2>\n"
        for g in movedGauges {
            var lines = [Line(label: g.workers.count > 1 ? "host (sum)" : "host", values: g.host, color: palette[0])]
            if g.workers.count > 1 {
                for (i, w) in g.workers.enumerated() { lines.append(Line(label: w.name, values: w.values, color: palette[(i + 1) % palette.count])) }
            }
            out += chart(t, kind: "gauge", metric: g.name, title: "\(g.name) (value at each bucket's end)", lines: lines)
        }
        if movedGauges.isEmpty { out += "<p>No gauge moved.</p>\n" }
        if !flat.isEmpty { out += "<p class=\"flat\">Stayed 0: \(html(flat.joined(separator: ", ")))</p>\n" }
        out += "</section>\n<section id=\"counters\"><h2>Counters per bucket</h2>\n"
        for c in t.counters {
            out += chart(t, kind: "counter", metric: c.name, title: "\(c.name) (per \(t.bucketSeconds) s bucket)", lines: [Line(label: c.name, values: c.values, color: palette[1])])
        }
        if t.counters.isEmpty { out += "<p>No counter moved.</p>\n" }
        out += "</section>\n<section id=\"distributions\"><h2>Timers and histograms</h2>\n"
        for d in t.distributions {
            out += distributionChart(t, d)
        }
        if t.distributions.isEmpty { out += "<p>No timer or histogram recorded a value.</p>\n" }
        out += "</section>\n"
        return out
    }

    /// One decimal, without a trailing `.0`.
    static func n(_ v: Double) -> String {
        let tenths = Int((v * 10).rounded())
        return tenths % 10 == 0 ? String(tenths / 10) : String(format1: tenths)
    }

    static func x(_ i: Int, _ count: Int) -> Double { left + plotWidth * Double(i) / Double(max(1, count)) }

    /// A round upper end and step for values up to `maximum`.
    static func yScale(_ maximum: Int64) -> (top: Int64, step: Int64) {
        let m = max(1, maximum)
        let raw = Double(m) / 4
        var magnitude: Int64 = 1
        while Double(magnitude) * 10 <= raw { magnitude *= 10 }
        var step = magnitude
        for f: Int64 in [1, 2, 5, 10] where Double(magnitude * f) >= raw { step = magnitude * f; break }
        step = max(1, step)
        return ((m + step - 1) / step * step, step)
    }

    static func y(_ v: Int64, _ top: Int64) -> Double { ReportPage.top + plotHeight - plotHeight * Double(v) / Double(max(1, top)) }

    /// A number as people read it: 1234 → 1.2k, 5600000 → 5.6M.
    public static func short(_ v: Int64) -> String {
        let a = abs(Double(v))
        for (limit, suffix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] where a >= limit {
            let s = n(Double(v) / limit)
            return s + suffix
        }
        return String(v)
    }

    static func frame(_ t: ReportTimeline, kind: String, metric: String, title: String, yTop: Int64, yStep: Int64) -> String {
        var out = "<figure class=\"chart-box\"><figcaption>\(html(title))</figcaption>\n"
        out += "<svg class=\"chart\" data-kind=\"\(kind)\" data-metric=\"\(html(metric))\" data-left=\"\(n(left))\" data-plot-width=\"\(n(plotWidth))\" data-count=\"\(t.count)\" viewBox=\"0 0 \(n(width)) \(n(height))\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"\(html(title))\">\n"
        // y axis
        out += "<g class=\"axis y\"><line x1=\"\(n(left))\" y1=\"\(n(top))\" x2=\"\(n(left))\" y2=\"\(n(top + plotHeight))\"/>"
        var v: Int64 = 0
        while v <= yTop {
            let yy = y(v, yTop)
            out += "<line class=\"grid\" x1=\"\(n(left))\" y1=\"\(n(yy))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(yy))\"/><text x=\"\(n(left - 6))\" y=\"\(n(yy + 4))\" text-anchor=\"end\">\(short(v))</text>"
            v += yStep
        }
        out += "</g>\n"
        out += xAxis(t)
        // life marks
        for m in t.marks {
            let xx = x(m.bucket, t.count)
            let what = m.event.kind == .start ? "started (start banner)" : m.event.kind == .stop ? "stopped (stop line)" : "appeared (new process)"
            out += "<line class=\"mark mark-\(m.event.kind.rawValue)\" x1=\"\(n(xx))\" y1=\"\(n(top))\" x2=\"\(n(xx))\" y2=\"\(n(top + plotHeight))\"><title>\(html("worker \(m.event.worker) \(what) in the bucket of \(formatUTC(m.event.time * 1000))"))</title></line>"
        }
        if !t.marks.isEmpty { out += "\n" }
        return out
    }

    static func xAxis(_ t: ReportTimeline) -> String {
        let span = Int64(t.count) * t.bucketSeconds
        let steps: [Int64] = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400, 172_800, 604_800, 2_592_000, 31_536_000]
        let step = steps.first { span / $0 <= 8 } ?? 31_536_000
        var out = "<g class=\"axis x\"><line x1=\"\(n(left))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(left + plotWidth))\" y2=\"\(n(top + plotHeight))\"/>"
        var tick = (t.start + step - 1) / step * step
        let end = t.start + span
        while tick <= end {
            let xx = left + plotWidth * Double(tick - t.start) / Double(max(1, span))
            let stamp = formatUTC(tick * 1000)  // 2020-05-05T12:00:00.000Z
            let chars = Array(stamp)
            let label: String
            if span >= 2 * 86400 { label = String(chars[5..<10]) + " " + String(chars[11..<16]) }
            else if step < 60 { label = String(chars[11..<19]) }
            else { label = String(chars[11..<16]) }
            out += "<line class=\"tick\" x1=\"\(n(xx))\" y1=\"\(n(top + plotHeight))\" x2=\"\(n(xx))\" y2=\"\(n(top + plotHeight + 4))\"/><text x=\"\(n(xx))\" y=\"\(n(height - 8))\" text-anchor=\"middle\">\(label)</text>"
            tick += step
        }
        out += "<text class=\"unit\" x=\"\(n(width - right))\" y=\"\(n(top - 6))\" text-anchor=\"end\">time: UTC</text></g>\n"
        return out
    }

    static func legend(_ items: [(String, String)]) -> String {
        var out = "<g class=\"legend\">"
        var xx = left
        for (label, color) in items {
            out += "<g class=\"legend-item\"><rect x=\"\(n(xx))\" y=\"10\" width=\"12\" height=\"10\" fill=\"\(color)\"/><text x=\"\(n(xx + 16))\" y=\"19\">\(html(label))</text></g>"
            xx += 28 + 6.6 * Double(label.count)
        }
        return out + "</g>\n"
    }

    /// A step line through `values` (nil: a gap), closed down to the axis when `area`.
    static func stepPath(_ values: [Int64?], _ yTop: Int64, area: Bool) -> String {
        var d = ""
        d.reserveCapacity(values.count * 14)
        let base = n(top + plotHeight)
        var open = false
        var lastX = ""
        for (i, v) in values.enumerated() {
            guard let v else {
                if open && area { d += "V\(base)Z" }
                open = false
                continue
            }
            let yy = n(y(v, yTop)), x0 = n(x(i, values.count)), x1 = n(x(i + 1, values.count))
            if !open {
                d += area ? "M\(x0) \(base)V\(yy)H\(x1)" : "M\(x0) \(yy)H\(x1)"
                open = true
            } else {
                d += "V\(yy)H\(x1)"
            }
            lastX = x1
        }
        if open && area { d += "V\(base)Z" }
        _ = lastX
        return d
    }

    static func chart(_ t: ReportTimeline, kind: String, metric: String, title: String, lines: [Line]) -> String {
        let maximum = lines.flatMap { $0.values.compactMap { $0 } }.max() ?? 0
        let (yTop, yStep) = yScale(maximum)
        var out = frame(t, kind: kind, metric: metric, title: title, yTop: yTop, yStep: yStep)
        for (i, line) in lines.enumerated() {
            let area = kind == "counter"
            out += "<path class=\"series\" data-series=\"\(html(line.label))\" d=\"\(stepPath(line.values, yTop, area: area))\" stroke=\"\(line.color)\" fill=\"\(area ? line.color : "none")\"\(area ? " fill-opacity=\"0.35\"" : "") stroke-width=\"\(i == 0 ? "1.6" : "1.2")\"/>\n"
        }
        out += legend(lines.map { ($0.label, $0.color) })
        out += "<line class=\"cursor\" x1=\"0\" y1=\"\(n(top))\" x2=\"0\" y2=\"\(n(top + plotHeight))\" visibility=\"hidden\"/></svg></figure>\n"
        return out
    }

    static func distributionChart(_ t: ReportTimeline, _ d: ReportTimeline.DistributionSeries) -> String {
        let maximum = d.buckets.compactMap { $0?.max }.max() ?? 0
        let (yTop, yStep) = yScale(maximum)
        var out = frame(t, kind: "distribution", metric: d.name, title: "\(d.name) (\(d.kind.rawValue): min–max band, p90, median per bucket)", yTop: yTop, yStep: yStep)
        var band = ""
        for (i, b) in d.buckets.enumerated() {
            guard let b else { continue }
            let yMax = y(b.max, yTop), yMin = y(b.min, yTop)
            band += "M\(n(x(i, d.buckets.count))) \(n(yMax))H\(n(x(i + 1, d.buckets.count)))V\(n(max(yMin, yMax + 0.8)))H\(n(x(i, d.buckets.count)))Z"
        }
        let colors = ["#9ecae1", "#d62728", "#1f77b4"]
        out += "<path class=\"series band\" data-series=\"min–max\" d=\"\(band)\" fill=\"\(colors[0])\" stroke=\"none\"/>\n"
        out += "<path class=\"series\" data-series=\"p90\" d=\"\(stepPath(d.buckets.map { $0?.p90 }, yTop, area: false))\" stroke=\"\(colors[1])\" fill=\"none\" stroke-width=\"1.3\"/>\n"
        out += "<path class=\"series\" data-series=\"median\" d=\"\(stepPath(d.buckets.map { $0?.p50 }, yTop, area: false))\" stroke=\"\(colors[2])\" fill=\"none\" stroke-width=\"1.6\"/>\n"
        out += legend([("min–max", colors[0]), ("p90", colors[1]), ("median", colors[2])])
        out += "<line class=\"cursor\" x1=\"0\" y1=\"\(n(top))\" x2=\"0\" y2=\"\(n(top + plotHeight))\" visibility=\"hidden\"/></svg></figure>\n"
        return out
    }

    // MARK: tables

    static func tables(_ data: ReportData) -> String {
        var out = "<section id=\"totals\"><h2>Totals</h2><p>As <code>--summary</code> gives them: each counter's count over the window, each gauge at its end, each timer's and histogram's values.</p>\n<div class=\"cols\">"
        out += "<table class=\"totals\"><thead><tr><th>counter</th><th>total</th></tr></thead><tbody>"
        for s in data.totals where s.kind == .counter {
            out += "<tr\(s.value == 0 ? " class=\"zero\"" : "")><td>\(html(data.prefix + "." + s.name))</td><td class=\"num\">\(s.value)</td></tr>"
        }
        out += "</tbody></table>\n<table class=\"totals\"><thead><tr><th>gauge</th><th>at the end</th></tr></thead><tbody>"
        for s in data.totals where s.kind == .gauge {
            out += "<tr\(s.value == 0 ? " class=\"zero\"" : "")><td>\(html(data.prefix + "." + s.name))</td><td class=\"num\">\(s.value)</td></tr>"
        }
        out += "</tbody></table>\n"
        if !data.distributionTotals.isEmpty {
            out += "<table class=\"totals\"><thead><tr><th>timer / histogram</th><th>count</th><th>sum</th><th>min</th><th>max</th></tr></thead><tbody>"
            for d in data.distributionTotals {
                out += "<tr\(d.count == 0 ? " class=\"zero\"" : "")><td>\(html(data.prefix + "." + d.name)) <span class=\"kind\">\(d.kind.rawValue)</span></td><td class=\"num\">\(d.count)</td><td class=\"num\">\(d.sum)</td><td class=\"num\">\(d.min.map(String.init) ?? "–")</td><td class=\"num\">\(d.max.map(String.init) ?? "–")</td></tr>"
            }
            out += "</tbody></table>\n"
        }
        out += "</div></section>\n"
        out += "<section id=\"workers\"><h2>Workers</h2><table class=\"workers\"><thead><tr><th>worker</th><th>lives started</th><th>log level announced</th><th>metrics that level cannot feed (they stay 0, not a true zero)</th></tr></thead><tbody>"
        for w in data.workers {
            let unfed = w.logLevel == nil ? "(no level announced)" : w.unfed.isEmpty ? "none" : w.unfed.joined(separator: ", ")
            out += "<tr><td>\(html(w.key))</td><td class=\"num\">\(w.lives)</td><td>\(html(w.logLevel ?? "–"))</td><td>\(html(unfed))</td></tr>"
        }
        out += "</tbody></table></section>\n"
        let listed = data.shapes.sorted.prefix(ReportData.listedShapes)
        out += "<section id=\"unmatched\"><h2>Lines no rule matched, by shape</h2><p>\(data.shapes.entries.count) shapes (digits as &lt;n&gt;, hex ids as &lt;hex&gt;, quoted values as '…'); "
        out += data.shapes.entries.count > listed.count || data.shapes.linesOfDroppedShapes > 0 ? "the \(listed.count) most frequent are listed.</p>\n" : "all are listed.</p>\n"
        out += "<table class=\"shapes\"><thead><tr><th>lines</th><th>why</th><th>shape</th><th>first line of it</th></tr></thead><tbody>"
        for e in listed {
            out += "<tr><td class=\"num\">\(e.count)</td><td>\(e.outcome == "envelope" ? "no layout fits" : "no rule")</td><td><code>\(html(e.shape))</code></td><td><code>\(html(e.example))</code></td></tr>"
        }
        out += "</tbody></table></section>\n"
        return out
    }

    // MARK: style and script

    static let style = """
        body{font-family:'DejaVu Sans',sans-serif;font-size:13px;margin:16px 20px;color:#222;background:#fff;max-width:1200px}
        h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:18px 0 6px;border-bottom:1px solid #ddd}
        .meta{margin:2px 0;color:#555}nav{margin:4px 0}nav a{color:#1f5fa8}figure{margin:0 0 6px}figcaption{font-weight:bold;font-size:12px}
        svg.chart{width:100%;height:auto;display:block;font-size:11px}
        .axis line{stroke:#888}.axis .grid{stroke:#eee}.axis text{fill:#555}
        .legend text{fill:#333;font-size:11px}.cursor{stroke:#000;stroke-dasharray:3 2}
        .mark{stroke-width:1.4}.mark-start{stroke:#2ca02c}.mark-stop{stroke:#d62728}.mark-appeared{stroke:#1f77b4;stroke-dasharray:4 3}
        table{border-collapse:collapse;margin:4px 12px 8px 0;vertical-align:top}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}
        .num{text-align:right;font-variant-numeric:tabular-nums}.zero{color:#999}.kind{color:#777;font-size:11px}
        .cols{display:flex;flex-wrap:wrap;align-items:flex-start}.flat{color:#777}
        code{font-family:'DejaVu Sans Mono',monospace;font-size:12px;word-break:break-all}
        #tip{position:fixed;pointer-events:none;background:#fffff0;border:1px solid #999;padding:4px 6px;font-size:12px;white-space:pre;z-index:2}
        #details table{margin:0}
        """

    /// Reads the data section; shows a bucket's values on hover (a tooltip and a cursor on every chart,
    /// the time axis being shared) and, on click or with `#bucket=N` in the URL, every metric of that
    /// bucket in the details table. Builds text with `textContent` only; marks the body
    /// `data-script-ran` when done.
    static let script = """
        (function(){
        var data=JSON.parse(document.getElementById('report-data').textContent);var t=data.timeline;if(!t)return;
        var tip=document.getElementById('tip'),charts=document.querySelectorAll('svg.chart');
        function when(i){return new Date((t.start+i*t.bucketSeconds)*1000).toISOString().replace('.000Z','Z');}
        function rows(kind,metric,i){var r=[];
        if(kind==='gauge'){var g=t.gauges[metric];r.push(['host',g.host[i]]);for(var w in g.workers){r.push([w,g.workers[w][i]]);}}
        else if(kind==='counter'){var v=t.counters[metric][i];r.push(['count',v]);r.push(['per second',(v/t.bucketSeconds).toFixed(2)]);}
        else{var d=t.distributions[metric];if(d.count[i]===null){r.push(['values',0]);}else{['count','min','p50','p90','max'].forEach(function(k){r.push([k,d[k][i]]);});}}
        return r;}
        function bucketAt(svg,ev){var b=svg.getBoundingClientRect(),vb=svg.viewBox.baseVal;var x=(ev.clientX-b.left)*vb.width/b.width;
        var i=Math.floor((x-parseFloat(svg.dataset.left))/parseFloat(svg.dataset.plotWidth)*t.count);return(i<0||i>=t.count)?-1:i;}
        function cursor(i){charts.forEach(function(s){var c=s.querySelector('.cursor');if(i<0){c.setAttribute('visibility','hidden');return;}
        var x=parseFloat(s.dataset.left)+parseFloat(s.dataset.plotWidth)*(i+0.5)/t.count;c.setAttribute('x1',x);c.setAttribute('x2',x);c.setAttribute('visibility','visible');});}
        function details(i){var tb=document.getElementById('details-table');while(tb.firstChild)tb.removeChild(tb.firstChild);
        function add(a,b,c){var tr=document.createElement('tr');[a,b,c].forEach(function(x){var td=document.createElement('td');td.textContent=x===null||x===undefined?'–':String(x);tr.appendChild(td);});tb.appendChild(tr);}
        add('bucket',when(i),t.bucketSeconds+' s');
        Object.keys(t.gauges).forEach(function(k){add('gauge',k,t.gauges[k].host[i]);});
        Object.keys(t.counters).forEach(function(k){if(t.counters[k][i])add('counter',k,t.counters[k][i]);});
        Object.keys(t.distributions).forEach(function(k){var d=t.distributions[k];if(d.count[i]!==null)add(d.kind,k,'count '+d.count[i]+', min '+d.min[i]+', median '+d.p50[i]+', p90 '+d.p90[i]+', max '+d.max[i]);});
        document.getElementById('details-hint').textContent='Values of the bucket at '+when(i)+':';}
        charts.forEach(function(s){
        s.addEventListener('mousemove',function(ev){var i=bucketAt(s,ev);if(i<0){tip.hidden=true;cursor(-1);return;}
        cursor(i);tip.textContent=s.dataset.metric+'\\n'+when(i)+rows(s.dataset.kind,s.dataset.metric,i).map(function(r){return '\\n'+r[0]+': '+(r[1]===null?'–':r[1]);}).join('');
        tip.hidden=false;tip.style.left=Math.min(ev.clientX+14,window.innerWidth-260)+'px';tip.style.top=(ev.clientY+14)+'px';});
        s.addEventListener('mouseleave',function(){tip.hidden=true;cursor(-1);});
        s.addEventListener('click',function(ev){var i=bucketAt(s,ev);if(i>=0)details(i);});});
        var m=/^#bucket=(\\d+)$/.exec(location.hash);if(m&&+m[1]<t.count){details(+m[1]);cursor(+m[1]);}
        document.body.setAttribute('data-script-ran','1');
        })();
        """
}

extension String {
    /// `tenths` / 10 with one decimal.
    init(format1 tenths: Int) {
        let sign = tenths < 0 ? "-" : ""
        let a = abs(tenths)
        self = "\(sign)\(a / 10).\(a % 10)"
    }
}
