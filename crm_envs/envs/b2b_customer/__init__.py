"""B2BCustomer: a B2B customer relationship as a POMDP (Fan 2015). In progress: belief algebra."""
