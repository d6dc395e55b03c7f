@testable import KGatePlugins
import Testing

/// The Lua lexer request-transformer's templates and their schema check share: literals
/// render with Lua's values, and what Lua refuses is refused by both.
@Suite struct LuaLexerTests {
    func render(_ source: String) -> String? {
        try? Template(source).render(TemplateEnvironment(tables: [:]))
    }

    @Test func numbers() {
        #expect(render("$(0x10)") == "16")
        #expect(render("$(0xA.8p1 + 0)") == "21")
        #expect(render("$(1e2)") == "100")
        #expect(render("$(.5)") == "0.5")
        #expect(render("$(0x1P-1)") == "0.5")
        // 64-bit integer and complex cdata are not numbers templates can print.
        #expect(render("$(1LL)") == nil)
        #expect(render("$(2i)") == nil)
    }

    @Test func strings() {
        #expect(render(#"$("\65\x42\u{43}\z   D\t|")"#) == "ABCD\t|")
        #expect(render(#"$('it\'s' .. "\"q\"")"#) == #"it's"q""#)
        #expect(render("$([[long]])") == "long")
        #expect(render("$([==[a]]b]==])") == "a]]b")
        #expect(render("$([[\nfirst newline dropped]])") == "first newline dropped")
        #expect(render(#"$("\u{E9}")"#) == "é")
        #expect(render(#"$("\q")"#) == nil)
        #expect(render(#"$("\256")"#) == nil)
    }

    @Test func keywordsTemplatesCannotEvaluate() {
        #expect(render("$(nil or 'x')") == "x")
        #expect(render("$(not nil and 'y')") == "y")
        #expect(render("$(function() return 1 end)") == nil)
        #expect(render("$(end)") == nil)
    }

    @Test func schemaRefusesWhatLuaRefuses() {
        #expect(LuaExpressionSyntax.error(in: #""\q""#)?.contains("invalid escape sequence") == true)
        #expect(LuaExpressionSyntax.error(in: #""\300""#)?.contains("invalid escape sequence") == true)
        #expect(LuaExpressionSyntax.error(in: #""\x4""#)?.contains("invalid escape sequence") == true)
        #expect(LuaExpressionSyntax.error(in: #""\u{110000}""#)?.contains("invalid escape sequence") == true)
        #expect(LuaExpressionSyntax.error(in: #""ok\n\65\x41\u{41}\z  ""#) == nil)
        #expect(LuaExpressionSyntax.error(in: "[==[x]==] .. 0x1p4") == nil)
    }
}
