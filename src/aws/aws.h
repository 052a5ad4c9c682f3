/*-------------------------------------------------------------------------
 *
 * aws.h
 *		  Declarations shared by the AWS provider's files: credentials
 *		  (credentials.c, sts.c), SigV4 signing (sign.c), errors
 *		  (provider.c), XML answers (xml.c), Cost Explorer request
 *		  pieces (ce.c) and GetCostAndUsage-shaped answers (ce_results.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_AWS_H
#define FU_AWS_H

#include "provider.h"

/* docs.c */
extern const FuDoc fu_aws_docs[];

#define AWS_DEFAULT_REGION "us-east-1"

/* FuCredential.data of every AWS credential */
typedef struct AwsKeys
{
	char	   *access_key_id;
	char	   *secret_access_key;
	char	   *session_token;	/* NULL for long-term keys */
} AwsKeys;

/* credentials.c */
extern const FuCredentialProvider fu_aws_static_keys;
extern void fu_aws_base_keys(const FuAuth *auth, FuCredential *cred,
							 MemoryContext cxt);
extern void fu_aws_set_keys(FuCredential *cred, MemoryContext cxt,
							const char *akid, const char *secret,
							const char *token);
extern char *fu_aws_region(ForeignServer *server);

/* sts.c */
extern const FuCredentialProvider fu_aws_assume_role;
extern char *fu_aws_verify(const FuAuth *auth, const FuCredential *cred);
extern char *fu_aws_principal(const FuAuth *auth);
extern void fu_aws_check_role_arn(const char *name, const char *value);
extern void fu_aws_check_external_id(const char *name, const char *value);
extern void fu_aws_check_session_name(const char *name, const char *value);
extern void fu_aws_check_duration(const char *name, const char *value);

/* sign.c */
extern void fu_aws_authorize(FuRequest *req, const FuCredential *cred);

/* provider.c */
extern void fu_aws_error(FuRequest *req, char **code, char **message);
extern void fu_aws_error_text(FuRequest *req, List *secrets, char **code,
							  char **message);
extern bool fu_aws_code_in(const char *code, const char *const *list);

/* xml.c */
extern char *fu_aws_xml_text(const char *doc, size_t len, const char *const *path);

/* ce.c */
/*
 * The filter values one request of a per-value source carries (a
 * forecast per service, a resource's cost per usage type), and the
 * requests of every combination of the values asked (a cross product)
 */
#define CE_NUM_FILTERS	3
typedef struct CeFilter
{
	char	   *values[CE_NUM_FILTERS]; /* UTF-8; NULL: not filtered */
	Datum		datums[CE_NUM_FILTERS]; /* the columns' values */
} CeFilter;
typedef void (*CeAddRequest) (FuScan *scan, void *state, CeFilter *filter);
extern void fu_ce_each_filter(FuScan *scan, void *state, List **values,
							  CeAddRequest add);

extern FuRequest *fu_ce_request(FuScan *scan, const char *operation,
								const char *body);
extern void fu_ce_add_values_leaf(List **leaves, const char *type,
								  const char *key, List *values, bool negated);
extern void fu_ce_add_leaf(List **leaves, const char *type, const char *key,
						   FuQual *q);
extern void fu_ce_append_filter(StringInfo body, List *leaves);

/*
 * A TimePeriod {"Start", "End"} being read: the page parsers of Cost
 * Explorer's operations share it.
 */
typedef struct CeTimePeriod
{
	DateADT		start;
	DateADT		end;
} CeTimePeriod;

extern void fu_ce_period_begin(CeTimePeriod *p);
extern bool fu_ce_period_member(FuJsonWalk *w, int period_code, int start_code,
								int end_code, char *token, FuJsonToken type,
								CeTimePeriod *p);
extern void fu_ce_period_check(FuJsonWalk *w, const CeTimePeriod *p,
							   const char *list);

/* ce_results.c */
#define CE_NUM_METRICS	7
#define CE_MAX_GROUPS	2

extern const char *const fu_ce_metric_names[CE_NUM_METRICS];
extern void fu_ce_append_metrics(StringInfo body, int mask);

/* A row of a ResultsByTime page: a period's Total, or one of its Groups */
typedef struct CeRow
{
	int			period;			/* index in CeResults.periods */
	int			nkeys;
	char	   *keys[CE_MAX_GROUPS];
	char	   *amount[CE_NUM_METRICS];	/* by fu_ce_metric_names */
	char	   *unit[CE_NUM_METRICS];
} CeRow;

typedef struct CePeriod
{
	CeTimePeriod tp;
	bool		estimated;
} CePeriod;

/* One page, parsed in place (its strings point into the body) */
typedef struct CeResults
{
	int			ngroups;		/* GroupBy keys of the request */
	CeRow	   *rows;
	int			nrows;
	int			maxrows;
	CePeriod   *periods;
	int			nperiods;
	int			maxperiods;
	char	   *next_token;
	CeRow	   *row;			/* parser position: the row being filled */
} CeResults;

extern void fu_ce_parse_results(FuRequest *req, char *body, size_t len,
								CeResults *res);

#endif							/* FU_AWS_H */
