import KGateConfig
import KGateStore
import Synchronization
import Testing

@Suite("EventBus")
struct EventBusTests {
    private func flipped(_ n: Int) -> StoreEvent {
        .configFlipped(ConfigFlipped(
            oldHash: "old", newHash: "new-\(n)", generation: n, source: .admin, durations: LoadDurations(),
            entityCounts: [:]))
    }

    private func generation(_ event: StoreEvent) -> Int? {
        if case .configFlipped(let e) = event { return e.generation }
        return nil
    }

    @Test func streamReceivesEventsInOrder() async {
        let bus = EventBus()
        let stream = bus.subscribe()
        for n in 1...3 { bus.publish(flipped(n)) }
        var seen: [Int] = []
        for await event in stream {
            seen.append(generation(event) ?? -1)
            if seen.count == 3 { break }
        }
        #expect(seen == [1, 2, 3])
    }

    @Test func slowSubscriberKeepsTheNewest() async {
        let bus = EventBus()
        let stream = bus.subscribe(bufferingNewest: 4)
        // Nobody reads while 100 events are published: publishing does not wait.
        for n in 1...100 { bus.publish(flipped(n)) }
        var seen: [Int] = []
        for await event in stream {
            seen.append(generation(event) ?? -1)
            if seen.count == 4 { break }
        }
        #expect(seen == [97, 98, 99, 100])
    }

    @Test func endingAStreamUnsubscribes() async {
        let bus = EventBus()
        do {
            let stream = bus.subscribe()
            #expect(bus.subscriberCount == 1)
            bus.publish(flipped(1))
            for await _ in stream { break }
        }
        // The stream was dropped: its termination handler removed it.
        #expect(bus.subscriberCount == 0)
        bus.publish(flipped(2))
    }

    @Test func callbacksRunSynchronouslyUntilCancelled() {
        let bus = EventBus()
        let seen = Mutex<[Int]>([])
        let subscription = bus.onEvent { event in seen.withLock { $0.append(self.generation(event) ?? -1) } }
        bus.publish(flipped(1))
        #expect(seen.withLock { $0 } == [1])
        subscription.cancel()
        bus.publish(flipped(2))
        #expect(seen.withLock { $0 } == [1])
        #expect(bus.subscriberCount == 0)
    }

    @Test func rejectedEventCarriesSummary() {
        let error = LoadError(
            stage: .parse, message: "services[1].port: expected an integer", file: "kong.yml", line: 4, column: 9,
            hash: "abc", source: .file(path: "kong.yml"), at: 0)
        let event = ConfigRejected(error: error)
        #expect(event.summary == "services[1].port: expected an integer")
        #expect(event.hash == "abc")
        #expect(event.source == .file(path: "kong.yml"))
        #expect(error.description == "kong.yml:4:9: services[1].port: expected an integer")
    }
}
