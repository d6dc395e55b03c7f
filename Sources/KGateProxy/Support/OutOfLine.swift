/// An optional value kept out of line: one pointer while it is nil, a heap box once set.
///
/// For the state a long-lived object holds for every connection but few requests use: an
/// idle keep-alive connection then costs a pointer per such field instead of the whole value.
/// Setting a value reuses the box when nothing else holds it (copies of the owner share a box
/// until one of them writes: value semantics are kept); setting nil frees it.
@propertyWrapper
struct OutOfLine<Wrapped> {
    private final class Box {
        var value: Wrapped
        init(_ value: Wrapped) { self.value = value }
    }

    private var box: Box?

    init(wrappedValue: Wrapped?) {
        box = wrappedValue.map(Box.init)
    }

    var wrappedValue: Wrapped? {
        get { box?.value }
        set {
            guard let newValue else { return box = nil }
            if box != nil, isKnownUniquelyReferenced(&box!) {
                box!.value = newValue
            } else {
                box = Box(newValue)
            }
        }
    }
}
