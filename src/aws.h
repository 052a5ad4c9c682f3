/*-------------------------------------------------------------------------
 *
 * aws.h
 *		  What the AWS sources share: signing, endpoints, errors (aws.c)
 *		  and Cost Explorer request pieces (aws_ce.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef FU_AWS_H
#define FU_AWS_H

#include "finops_usage.h"

/* aws.c */
extern void fu_aws_prepare(FuScan *scan, FuRequest *req, const char *service,
						   const char *region, const char *target,
						   const char *content_type, bool query_mode);
extern char *fu_aws_endpoint(FuScan *scan, const char *host);
extern FuVerdict fu_aws_check(FuScan *scan, FuRequest *req);
extern void fu_aws_report_error(FuScan *scan, FuRequest *req) pg_attribute_noreturn();

/* aws_ce.c */
extern void fu_ce_add_leaf(List **leaves, const char *type, const char *key,
						   FuQual *q);
extern void fu_ce_append_filter(StringInfo body, List *leaves);
extern char *fu_ce_url(FuScan *scan);
extern void fu_ce_prepare(FuScan *scan, FuRequest *req, const char *operation);
extern DateADT fu_ce_date(FuJsonWalk *w, const char *s);

#endif							/* FU_AWS_H */
