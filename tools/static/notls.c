// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
/*
 * The GnuTLS functions libmicrohttpd's static archive calls, for `make
 * static` only: Debian ships no static p11-kit, so GnuTLS can't be linked
 * into a static binary. libmicrohttpd calls none of them but the global
 * init and deinit unless a TLS daemon is started, which parkwatch refuses
 * first (serve/http_config.c reads parkwatch_no_tls_reason); every other
 * one fails as a GnuTLS without the feature would.
 */
#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <stddef.h>

const char parkwatch_no_tls_reason[] =
	"the static build has no TLS (Debian ships no static p11-kit for GnuTLS): "
	"use the packaged build, or put a TLS proxy in front";

#define UNSUPPORTED GNUTLS_E_UNIMPLEMENTED_FEATURE

gnutls_alloc_function gnutls_malloc;

int gnutls_global_init(void) { return 0; }
void gnutls_global_deinit(void) {}
const char *gnutls_strerror(int error) { (void)error; return "no TLS in the static build"; }

int gnutls_init(gnutls_session_t *session, unsigned int flags)
{ (void)session; (void)flags; return UNSUPPORTED; }
void gnutls_deinit(gnutls_session_t session) { (void)session; }
int gnutls_priority_init(gnutls_priority_t *cache, const char *priorities, const char **err_pos)
{ (void)cache; (void)priorities; (void)err_pos; return UNSUPPORTED; }
void gnutls_priority_deinit(gnutls_priority_t cache) { (void)cache; }
int gnutls_priority_set(gnutls_session_t session, gnutls_priority_t priority)
{ (void)session; (void)priority; return UNSUPPORTED; }
int gnutls_credentials_set(gnutls_session_t session, gnutls_credentials_type_t type, void *cred)
{ (void)session; (void)type; (void)cred; return UNSUPPORTED; }
int gnutls_handshake(gnutls_session_t session) { (void)session; return UNSUPPORTED; }
int gnutls_bye(gnutls_session_t session, gnutls_close_request_t how)
{ (void)session; (void)how; return UNSUPPORTED; }
ssize_t gnutls_record_send(gnutls_session_t session, const void *data, size_t size)
{ (void)session; (void)data; (void)size; return UNSUPPORTED; }
ssize_t gnutls_record_recv(gnutls_session_t session, void *data, size_t size)
{ (void)session; (void)data; (void)size; return UNSUPPORTED; }
size_t gnutls_record_check_pending(gnutls_session_t session) { (void)session; return 0; }
int gnutls_record_get_direction(gnutls_session_t session) { (void)session; return 0; }
void gnutls_transport_set_int2(gnutls_session_t session, int r, int s)
{ (void)session; (void)r; (void)s; }
void gnutls_session_set_ptr(gnutls_session_t session, void *ptr) { (void)session; (void)ptr; }
void *gnutls_session_get_ptr(gnutls_session_t session) { (void)session; return NULL; }
gnutls_protocol_t gnutls_protocol_get_version(gnutls_session_t session)
{ (void)session; return GNUTLS_VERSION_UNKNOWN; }
gnutls_cipher_algorithm_t gnutls_cipher_get(gnutls_session_t session)
{ (void)session; return GNUTLS_CIPHER_UNKNOWN; }
int gnutls_alpn_set_protocols(gnutls_session_t session, const gnutls_datum_t *protocols,
			      unsigned size, unsigned flags)
{ (void)session; (void)protocols; (void)size; (void)flags; return UNSUPPORTED; }

int gnutls_dh_params_init(gnutls_dh_params_t *params) { (void)params; return UNSUPPORTED; }
void gnutls_dh_params_deinit(gnutls_dh_params_t params) { (void)params; }
int gnutls_dh_params_import_pkcs3(gnutls_dh_params_t params, const gnutls_datum_t *pkcs3,
				  gnutls_x509_crt_fmt_t format)
{ (void)params; (void)pkcs3; (void)format; return UNSUPPORTED; }

int gnutls_certificate_allocate_credentials(gnutls_certificate_credentials_t *res)
{ (void)res; return UNSUPPORTED; }
void gnutls_certificate_free_credentials(gnutls_certificate_credentials_t res) { (void)res; }
void gnutls_certificate_set_dh_params(gnutls_certificate_credentials_t res,
				      gnutls_dh_params_t params)
{ (void)res; (void)params; }
void gnutls_certificate_server_set_request(gnutls_session_t session,
					   gnutls_certificate_request_t req)
{ (void)session; (void)req; }
int gnutls_certificate_set_x509_trust_mem(gnutls_certificate_credentials_t res,
					  const gnutls_datum_t *ca, gnutls_x509_crt_fmt_t type)
{ (void)res; (void)ca; (void)type; return UNSUPPORTED; }
int gnutls_certificate_set_x509_key_mem(gnutls_certificate_credentials_t res,
					const gnutls_datum_t *cert, const gnutls_datum_t *key,
					gnutls_x509_crt_fmt_t type)
{ (void)res; (void)cert; (void)key; (void)type; return UNSUPPORTED; }
int gnutls_certificate_set_x509_key_mem2(gnutls_certificate_credentials_t res,
					 const gnutls_datum_t *cert, const gnutls_datum_t *key,
					 gnutls_x509_crt_fmt_t type, const char *pass,
					 unsigned int flags)
{ (void)res; (void)cert; (void)key; (void)type; (void)pass; (void)flags; return UNSUPPORTED; }
void gnutls_certificate_set_retrieve_function2(gnutls_certificate_credentials_t cred,
					       gnutls_certificate_retrieve_function2 *func)
{ (void)cred; (void)func; }
void gnutls_certificate_set_retrieve_function3(gnutls_certificate_credentials_t cred,
					       gnutls_certificate_retrieve_function3 *func)
{ (void)cred; (void)func; }

int gnutls_psk_allocate_server_credentials(gnutls_psk_server_credentials_t *sc)
{ (void)sc; return UNSUPPORTED; }
void gnutls_psk_free_server_credentials(gnutls_psk_server_credentials_t sc) { (void)sc; }
void gnutls_psk_set_server_credentials_function(gnutls_psk_server_credentials_t cred,
						gnutls_psk_server_credentials_function *func)
{ (void)cred; (void)func; }
