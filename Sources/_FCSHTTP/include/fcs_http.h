/* HTTP for `fcs fetch`, over libcurl (curl_easy_setopt is variadic, so Swift cannot call it
 * directly): small GETs into memory, HEAD requests, and resumable, SHA-256-hashed file downloads. */
#ifndef FCS_HTTP_H
#define FCS_HTTP_H

#include <stddef.h>
#include <stdint.h>

typedef struct fcs_http_response {
    long status;            /* HTTP status, 0 when no response came */
    char *body;             /* GET: the body (NUL-terminated); free with fcs_http_response_free */
    size_t body_size;
    char *headers;          /* the last response's headers, "Name: value\r\n" lines */
    char error[256];        /* why status is 0 */
} fcs_http_response;

/* GET (or HEAD when head != 0) url; token, if not NULL, is sent as a bearer token; user_agent
 * names the client ("fcs/0.1.0"). Redirects are followed for GET only: a HEAD reports the first
 * server's headers (the hub's metadata). */
void fcs_http_request(const char *url, const char *token, const char *user_agent, int head, fcs_http_response *response);
void fcs_http_response_free(fcs_http_response *response);

/* Called during downloads with bytes done and expected in all (0 when unknown); return non-zero
 * to stop. */
typedef int (*fcs_http_progress)(int64_t done, int64_t total, void *user_data);

/* Downloads url into path, appending to what path already holds (resume with a Range request).
 * sha256_hex gets the SHA-256 of the whole file. Returns the HTTP status (200, 206, or 416
 * when path already held the whole file), or 0 with error filled. */
long fcs_http_download(const char *url, const char *token, const char *user_agent, const char *path, fcs_http_progress progress,
                       void *user_data, char sha256_hex[65], char error[256]);

#endif
