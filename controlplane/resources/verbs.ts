// Discovery verbs every kind skiff serves advertises (the full CRUD + watch set).
export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
