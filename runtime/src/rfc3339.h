#ifndef VGUEST_RFC3339_H
#define VGUEST_RFC3339_H

/* Normalizes an RFC 3339 date-time to "YYYY-MM-DDThh:mm:ss.sssZ" (UTC) in
   out. Returns 0, or -1 when s does not parse. */
int vgi_time_normalize(const char *s, char out[32]);

#endif
