/** The columns of admin_audit: who, what, when and counts, never the deleted content. */
export const ADMIN_AUDIT_FIELDS = ['id', 'at', 'actor', 'action', 'target', 'counts'] as const;
