//! Bank domain: policy, token states, revoke/register/validate
