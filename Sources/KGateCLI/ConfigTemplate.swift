/// The file `kgate config init` writes: Kong's `kong config init` template
/// (`kong/templates/kong_yml.lua`), worded for kgate.
///
/// Like Kong's, it is all comments except the metadata keys, so it loads as an empty config; the
/// commented examples are valid once uncommented.
public enum ConfigTemplate {
    /// The default file name (`kong config init` writes `./kong.yml`).
    public static let defaultFileName = "kong.yml"

    /// The template text.
    public static let text = """
        # ------------------------------------------------------------------------------
        # This is an example file to get you started with using
        # declarative configuration in kgate (the same format as Kong's DB-less mode).
        # Check it with:  kgate config parse kong.yml
        # ------------------------------------------------------------------------------

        # Metadata fields start with an underscore (_)
        # Fields that do not start with an underscore represent entities and attributes

        # _format_version is mandatory,
        # it specifies the minimum version of Kong that supports the format
        # ("1.1" and "2.1" are accepted too, and upgraded when the file is read)

        _format_version: "3.0"

        # _transform is optional, defaulting to true.
        # It specifies whether schema transformations should be applied when importing this file.
        # As a rule of thumb, leave this setting to true if you are importing credentials
        # with plain passwords, which need to be encrypted/hashed before they are stored.
        # On the other hand, if you are reimporting data with passwords already encrypted/hashed,
        # set it to false.

        _transform: true

        # Custom annotations can be added via _comment and _ignore fields. The comments
        # must be strings, and the ignored fields must be an array, carrying any type as
        # values. _comment and _ignore fields can appear at the top level of the file
        # and at the top level of any entity.

        _comment: This is a top level comment, and must be a string
        _ignore:
        - This array entry will be ignored
        - as well as this one

        # Each entity (core entity or custom entity introduced by a plugin)
        # can be listed in the top-level as an array of objects:

        # services:
        # - name: example-service
        #   url: http://example.com
        #   # Entities can store tags as metadata
        #   tags:
        #   - example
        #   # Entities that have a foreign-key relationship can be nested:
        #   routes:
        #   - name: example-route
        #     paths:
        #     - /
        #   plugins:
        #   - name: key-auth
        # - name: another-service
        #   url: https://example.org

        # routes:
        # - name: another-route
        #   # Relationships can also be specified between top-level entities,
        #   # either by name or by id
        #   service: example-service
        #   hosts: ["hello.com"]

        # consumers:
        # - username: example-user
        #   # Custom entities from plugins can also be specified.
        #   # If they specify a foreign-key relationship, they can also be nested
        #   keyauth_credentials:
        #   - key: my-key
        #   plugins:
        #   - name: rate-limiting
        #     _comment: "these are default rate-limits for user example-user"
        #     config:
        #       policy: local
        #       second: 5
        #       hour: 10000

        # When an entity has multiple foreign-key relationships
        # (e.g. a plugin matching on both consumer and service)
        # it must be specified as a top-level entity, and not through
        # nesting.

        # plugins:
        # - name: rate-limiting
        #   consumer: example-user
        #   service: another-service
        #   _comment: "example-user is extra limited when using another-service"
        #   config:
        #     hour: 2
        #   # tags are for your organization only and have no meaning for kgate:
        #   tags:
        #   - extra_limits
        #   - my_tag

        """
}
