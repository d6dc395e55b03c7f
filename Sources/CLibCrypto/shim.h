// OpenSSL (Debian's libssl-dev), as Kong's nginx and Lua use it, where BoringSSL (swift-crypto,
// swift-nio-ssl) does not behave the same: jwt's Ed448 and RSA-PSS verification, and reading
// `ssl_ciphers` cipher strings.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/ssl.h>
