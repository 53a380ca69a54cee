"""The deliberate mistakes: broken variants, each in a module that names its mistake first, and
the scenarios that run each one beside the correct pattern with its race forced open.

==========================  =========================================  ===========================
module                      the mistake                                scenario
==========================  =========================================  ===========================
``mutating_worker``         1. the worker mutates job state itself     worker mutates state
``mutating_pool``           1. the same, at full size in a real pool   (the dashboard's option)
``forgetful_worker``        2. failed, without saying why              failed with no reason
``save_too_early``          3. saved before ``last_error`` was set     saved before the error
``unchecked_error``         4. ``last_error`` read without a ``None``  missing error read
``random_failure``          5. failures simulated with a coin          random failures
``unlocked_store``          a claim that is not atomic                 no lock
``no_retry_limit``          retries with no limit                      no retry limit
``self_retrying_worker``    the worker retries instead of the sweeper  worker retries itself
``no_lease``                a claim with no lease: lost jobs stay stuck no lease
``no_fencing``              a late report from a lost claim accepted   no fencing
``unconditional_update``    a lost update across processes             unconditional update
==========================  =========================================  ===========================

``baseline`` holds the correct code the broken stores are copied from (nothing in it is a
mistake), ``hooks`` the pause points that force a race, ``broken`` an index of every variant,
and ``scenarios`` one module per scenario, named like the variant it runs, with its harness.
"""
