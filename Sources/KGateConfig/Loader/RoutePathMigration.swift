import KGateSchema

/// Kong's on-the-fly `route_path` migration for `_format_version` "1.1" and "2.1" files:
/// plain paths are normalised, anything else is a pre-3.0 regex and gets a `~` prefix.
enum RoutePathMigration {
    static func apply(_ input: inout Object) {
        guard case .string(let version)? = input["_format_version"], version == "1.1" || version == "2.1" else { return }
        if case .array(var routes)? = input["routes"] {
            migrateRoutes(&routes)
            input["routes"] = .array(routes)
        }
        if case .array(var services)? = input["services"] {
            for i in services.indices {
                guard case .object(var service) = services[i], case .array(var routes)? = service["routes"] else { continue }
                migrateRoutes(&routes)
                service["routes"] = .array(routes)
                services[i] = .object(service)
            }
            input["services"] = .array(services)
        }
        input["_format_version"] = "3.0"
    }

    private static func migrateRoutes(_ routes: inout [Value]) {
        for i in routes.indices {
            guard case .object(var route) = routes[i], case .array(var paths)? = route["paths"] else { continue }
            for j in paths.indices {
                if case .string(let p) = paths[j] { paths[j] = .string(migrate(p)) }
            }
            route["paths"] = .array(paths)
            routes[i] = .object(route)
        }
    }

    /// One path: a plain prefix is normalised; a regex gets `~` and its unreserved escapes decoded.
    static func migrate(_ path: String) -> String {
        PathNormalizer.migrateLegacyPath(path).path
    }
}
