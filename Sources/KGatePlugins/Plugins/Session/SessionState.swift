import KGateSchema

/// The `resty.session` options Kong passes (cookie storage).
struct SessionSettings: Sendable {
    var secret: SessionCookie.Secret
    var audience: String
    var timeouts: SessionCookie.Timeouts
    var rememberTimeouts: SessionCookie.Timeouts
    var cookieName: String
    /// `; Path=/; SameSite=Strict; Secure; HttpOnly`, as lua-resty-session orders them.
    var attributes: String
    var remember: Bool
    var rememberCookieName: String
    var requestHeaders: [String]
    var responseHeaders: [String]

    /// `Max-Age` of the remember cookie: its rolling timeout, at most 400 days.
    var rememberMaxAge: Int {
        let m = rememberTimeouts.rolling
        return m == 0 || m > 34_560_000 ? 34_560_000 : m
    }
}

/// One request's session, as lua-resty-session's session object: the cookies read, the data
/// of every audience, and the `Set-Cookie` values it produced.
struct SessionState: Sendable {
    let settings: SessionSettings
    /// When it was opened or last saved (`meta.timestamp`).
    var timestamp: Int
    /// The session cookie read or written last.
    var cookie: SessionCookie?
    /// The remember cookie's header, once read or written.
    var rememberHeader: SessionCookie.Header?
    /// `[[data, audience, subject?], ...]`: every audience's entry.
    var entries: [Value] = []
    /// The entry of the configured audience.
    var current: Int?
    /// `Set-Cookie` values to send, in order (one per cookie name).
    var setCookies: [(name: String, value: String)] = []

    init(settings: SessionSettings, now: Int) {
        self.settings = settings
        self.timestamp = now
    }

    // MARK: open

    /// lua-resty-session's `open`: reads the session cookie, else (with `remember`) the
    /// remember cookie, from which a new session cookie is made. Returns whether a session of
    /// this audience exists, or why not.
    mutating func open(cookies: [String], now: Int) -> SessionCookie.Failure? {
        timestamp = now
        switch SessionCookie.open(
            name: settings.cookieName, cookies: cookies, secret: settings.secret, kind: .session,
            timeouts: settings.timeouts, now: now)
        {
        case .success(let cookie):
            self.cookie = cookie
            return load(cookie.data)
        case .failure(let failure):
            guard settings.remember else { return failure }
            guard
                case .success(let remembered) = SessionCookie.open(
                    name: settings.rememberCookieName, cookies: cookies, secret: settings.secret, kind: .remember,
                    timeouts: settings.rememberTimeouts, now: now)
            else { return failure }
            rememberHeader = remembered.header
            if let audience = load(remembered.data) { return audience }
            // Remember first, then a brand-new session cookie.
            saveRemember(now: now)
            saveSession(now: now, creationTime: now)
            return nil
        }
    }

    /// Decodes the data and finds the audience's entry (else appends one for a later save).
    private mutating func load(_ json: [UInt8]) -> SessionCookie.Failure? {
        guard case .array(let list)? = KongJSONEncoderShim.decode(json) else {
            return SessionCookie.Failure(description: "unable to json decode session data")
        }
        entries = list
        if let i = entries.firstIndex(where: { Self.element($0, 1)?.stringValue == settings.audience }) {
            current = i
            return nil
        }
        return SessionCookie.Failure(description: "missing session audience")
    }

    // MARK: data

    /// The audience's data (`get_data`): Kong keeps `[consumer_id, credential_id, groups]`.
    var data: [Value] {
        guard let current, case .array(let data)? = Self.element(entries[current], 0) else { return [] }
        return data
    }

    /// Kong's `get_session_data`: the consumer id, credential id and groups.
    var consumerID: String? { data.first?.stringValue }
    var credentialID: String? { data.count > 1 ? data[1].stringValue : nil }
    var groups: [String]? {
        guard data.count > 2, case .array(let list) = data[2] else { return nil }
        return list.compactMap(\.stringValue)
    }

    /// The audience's subject.
    var subject: String? { current.flatMap { Self.element(entries[$0], 2)?.stringValue } }

    /// An element of a JSON array.
    static func element(_ value: Value, _ i: Int) -> Value? {
        guard case .array(let items) = value, i < items.count else { return nil }
        return items[i]
    }

    /// Sets the audience's data and subject (`set_data`, `set_subject`).
    mutating func set(data: [Value], subject: String?) {
        var entry: [Value] = [.array(data), .string(settings.audience)]
        if let subject { entry.append(.string(subject)) }
        if let current {
            entries[current] = .array(entry)
        } else {
            entries.append(.array(entry))
            current = entries.count - 1
        }
    }

    private var json: [UInt8] {
        var out: [UInt8] = []
        KongJSONEncoderShim.encode(.array(entries), into: &out)
        return out
    }

    // MARK: saving

    /// `save` (Kong's header_filter): the session cookie (keeping the creation time of one that
    /// was opened), then with `remember` the remember cookie.
    mutating func save(cookies: [String], now: Int) {
        saveSession(now: now, creationTime: cookie?.header.creationTime ?? now)
        guard settings.remember else { return }
        if rememberHeader == nil,
            case .success(let existing) = SessionCookie.open(
                name: settings.rememberCookieName, cookies: cookies, secret: settings.secret, kind: .remember,
                timeouts: settings.rememberTimeouts, now: now)
        {
            rememberHeader = existing.header
        }
        saveRemember(now: now)
    }

    private mutating func saveSession(now: Int, creationTime: Int) {
        let previous = cookie?.chunks ?? 1
        guard
            case .success(let sealed) = SessionCookie.seal(
                json, name: settings.cookieName, secret: settings.secret, kind: .session, creationTime: creationTime, now: now)
        else { return }
        cookie = sealed.cookie
        timestamp = now
        for (name, value) in sealed.values { setCookie(name, value + settings.attributes) }
        if previous > sealed.cookie.chunks {
            for i in (sealed.cookie.chunks + 1)...previous { setCookie(settings.cookieName + String(i), Self.cleared(settings.attributes)) }
        }
    }

    private mutating func saveRemember(now: Int) {
        let creation = rememberHeader?.creationTime ?? now
        guard
            case .success(let sealed) = SessionCookie.seal(
                json, name: settings.rememberCookieName, secret: settings.secret, kind: .remember, creationTime: creation,
                now: now)
        else { return }
        rememberHeader = sealed.cookie.header
        let expiry = "; Expires=\(HTTPTime.format(creation + settings.rememberMaxAge)); Max-Age=\(settings.rememberMaxAge)"
        for (name, value) in sealed.values { setCookie(name, value + settings.attributes + expiry) }
    }

    /// `refresh` (Kong's access): past 3/4 of the rolling timeout the session cookie is saved
    /// again; past a minute since the last use (with an idling timeout) it is touched.
    mutating func refresh(now: Int) {
        guard let opened = cookie else { return }
        let t = settings.timeouts
        let elapsed = timestamp - opened.header.creationTime - opened.header.rollingOffset
        if t.rolling > 0, elapsed > (t.rolling * 3 + 3) / 4 {
            saveSession(now: now, creationTime: opened.header.creationTime)
        } else if t.idling > 0, elapsed - opened.header.idlingOffset > 60 {
            var header = opened.header
            header.idlingOffset = min(now - header.creationTime - header.rollingOffset, 0xFF_FFFF)
            cookie?.header = header
            setCookie(settings.cookieName, SessionCookie.encodedHeader(header, secret: settings.secret) + opened.initialChunk + settings.attributes)
        }
    }

    /// `logout`: with other audiences in the cookie, only this one's entry goes; else the
    /// cookies are cleared (the remember cookie when it is valid).
    mutating func logout(cookies: [String], now: Int) {
        guard let current else { return }
        if entries.count > 1 {
            entries.remove(at: current)
            self.current = nil
            saveSession(now: now, creationTime: cookie?.header.creationTime ?? now)
            if settings.remember { saveRemember(now: now) }
            return
        }
        destroy(cookies: cookies, now: now)
    }

    private mutating func destroy(cookies: [String], now: Int) {
        let chunks = cookie?.chunks ?? 1
        setCookie(settings.cookieName, Self.cleared(settings.attributes))
        if chunks > 1 { for i in 2...chunks { setCookie(settings.cookieName + String(i), Self.cleared(settings.attributes)) } }
        guard settings.remember,
            case .success(let remembered) = SessionCookie.open(
                name: settings.rememberCookieName, cookies: cookies, secret: settings.secret, kind: .remember,
                timeouts: settings.rememberTimeouts, now: now)
        else { return }
        setCookie(settings.rememberCookieName, Self.cleared(settings.attributes))
        if remembered.chunks > 1 {
            for i in 2...remembered.chunks { setCookie(settings.rememberCookieName + String(i), Self.cleared(settings.attributes)) }
        }
    }

    /// `name=` with the attributes and an expiry in the past.
    private static func cleared(_ attributes: String) -> String {
        attributes + "; Expires=Thu, 01 Jan 1970 00:00:01 GMT; Max-Age=0"
    }

    /// Records a `Set-Cookie`, replacing an earlier one of the same name.
    private mutating func setCookie(_ name: String, _ valueAndAttributes: String) {
        let line = name + "=" + valueAndAttributes
        if let i = setCookies.firstIndex(where: { $0.name == name }) {
            setCookies[i].value = line
        } else {
            setCookies.append((name, line))
        }
    }

    // MARK: headers

    /// `Session-*` headers of `names` (`set_headers`), when the session is open.
    func headers(_ names: [String]) -> [(String, String)] {
        guard current != nil, let header = cookie?.header else { return [] }
        let t = settings.timeouts
        let idling = t.idling - (timestamp - header.creationTime - header.rollingOffset - header.idlingOffset)
        let rolling = t.rolling - (timestamp - header.creationTime - header.rollingOffset)
        let absolute = t.absolute - (timestamp - header.creationTime)
        var out: [(String, String)] = []
        for name in names {
            switch name {
            case "id": out.append(("Session-Id", Base64.encode(header.sid, url: true)))
            case "audience": out.append(("Session-Audience", settings.audience))
            case "subject": if let subject { out.append(("Session-Subject", subject)) }
            case "timeout":
                let left = [(t.idling, idling), (t.rolling, rolling), (t.absolute, absolute)].filter { $0.0 > 0 }.map(\.1).min()
                if let left { out.append(("Session-Timeout", String(left))) }
            case "idling-timeout": if t.idling > 0 { out.append(("Session-Idling-Timeout", String(idling))) }
            case "rolling-timeout": if t.rolling > 0 { out.append(("Session-Rolling-Timeout", String(rolling))) }
            case "absolute-timeout": if t.absolute > 0 { out.append(("Session-Absolute-Timeout", String(absolute))) }
            default: break
            }
        }
        return out
    }
}
