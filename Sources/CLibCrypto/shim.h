// OpenSSL's libcrypto (Debian's libssl-dev), for the signatures BoringSSL does not verify as
// Kong's OpenSSL does: Ed448 and RSA-PSS with the salt length read from the signature.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
