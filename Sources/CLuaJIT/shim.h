#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

/* The C API's macros, as functions Swift can call. */
static inline int kgate_lua_registryindex(void) { return LUA_REGISTRYINDEX; }
static inline int kgate_lua_globalsindex(void) { return LUA_GLOBALSINDEX; }
static inline int kgate_lua_upvalueindex(int i) { return lua_upvalueindex(i); }
static inline void kgate_lua_pop(lua_State *L, int n) { lua_pop(L, n); }
static inline void kgate_lua_newtable(lua_State *L) { lua_newtable(L); }
static inline const char *kgate_lua_tolstring(lua_State *L, int i, size_t *len) { return lua_tolstring(L, i, len); }
static inline void kgate_lua_getglobal(lua_State *L, const char *name) { lua_getfield(L, LUA_GLOBALSINDEX, name); }
static inline void kgate_lua_setglobal(lua_State *L, const char *name) { lua_setfield(L, LUA_GLOBALSINDEX, name); }
