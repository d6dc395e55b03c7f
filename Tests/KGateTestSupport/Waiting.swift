/// Waits until `condition` holds, checking every 10 ms, for at most `timeout` (generous: on an
/// oversubscribed 2-core machine a test can wait seconds for a thread). Returns whether it held.
public func waitUntil(timeout: Duration = .seconds(10), _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now.advanced(by: timeout)
    while !condition() {
        if ContinuousClock.now >= deadline { return false }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return true
}
