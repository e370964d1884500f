/// `YYYY-MM-DDTHH:MM:SS.mmmZ` for milliseconds since the epoch.
public func formatUTC(_ millis: Int64) -> String {
    let seconds = millis >= 0 ? millis / 1000 : (millis - 999) / 1000
    let ms = Int(millis - seconds * 1000)
    var days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let secOfDay = Int(seconds - days * 86400)
    // civil from days (H. Hinnant)
    days += 719468
    let era = (days >= 0 ? days : days - 146096) / 146097
    let doe = days - era * 146097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let msText = ms < 10 ? "00\(ms)" : ms < 100 ? "0\(ms)" : "\(ms)"
    return "\(y)-\(two(Int(m)))-\(two(Int(d)))T\(two(secOfDay / 3600)):\(two(secOfDay / 60 % 60)):\(two(secOfDay % 60)).\(msText)Z"
}
